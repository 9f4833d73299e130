// Conversation use cases. Ownership is enforced here once: every lookup is by
// (user, id), and "not yours" is reported exactly like "does not exist".
import { AppError } from '../protocol/errors.js';
import { keysetPage, type ListCursor, type Page } from './cursor.js';
import type { Message } from './message.js';

export interface Conversation {
  id: string;
  title: string;
  metadata: Record<string, unknown>;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
  cursor_ts: string;
}

export interface ConversationStore {
  insert(userId: string, title: string, metadata: Record<string, unknown>): Promise<Conversation>;
  findOwned(userId: string, id: string): Promise<Conversation | undefined>;
  list(userId: string, limit: number, before: ListCursor | undefined): Promise<Conversation[]>;
  rename(userId: string, id: string, title: string): Promise<Conversation | undefined>;
  remove(userId: string, id: string): Promise<boolean>;
  messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<Message[]>;
}

export class ConversationService {
  constructor(
    private readonly store: ConversationStore,
    // tells live sockets of a deleted conversation to stop and reload
    private readonly onDeleted: (id: string) => void = () => undefined,
  ) {}

  create(userId: string, title: string, metadata: Record<string, unknown>): Promise<Conversation> {
    return this.store.insert(userId, title, metadata);
  }

  async get(userId: string, id: string): Promise<Conversation> {
    const c = await this.store.findOwned(userId, id);
    if (c === undefined) throw new AppError('conversation_not_found');
    return c;
  }

  list(userId: string, limit: number, cursor: string | undefined): Promise<Page<Conversation>> {
    return keysetPage(limit, cursor, (n, before) => this.store.list(userId, n, before));
  }

  async rename(userId: string, id: string, title: string): Promise<Conversation> {
    const c = await this.store.rename(userId, id, title);
    if (c === undefined) throw new AppError('conversation_not_found');
    return c;
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.store.remove(userId, id))) throw new AppError('conversation_not_found');
    this.onDeleted(id);
  }

  async messages(userId: string, id: string, afterSeq: number, limit: number): Promise<{ items: Message[]; has_more: boolean; last_seq: number }> {
    const c = await this.get(userId, id);
    const rows = await this.store.messagesAfter(c.id, afterSeq, limit + 1);
    return { items: rows.slice(0, limit), has_more: rows.length > limit, last_seq: c.last_seq };
  }
}
