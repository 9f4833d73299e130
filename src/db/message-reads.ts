// Reads of messages beyond the message module's own (insert, replay): the answer streaming
// in a conversation, a joining socket's one-round-trip lookup, single messages for the UI
// stream endpoints, recent turns and the conversation search tool. Every row goes through
// messageFromRow.
import type { Db } from './client.js';
import type { Message } from '../core/message.js';
import { MESSAGE_COLS, messageFromRow, type MessageRow } from './messages.js';

// The answer row of a run, if it was stored.
export async function findAnswerOfRun(db: Db, runId: string): Promise<Message | undefined> {
  const rows = await db.timed('runs.find_answer', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages WHERE run_id = ${runId} AND role = 'assistant' LIMIT 1`);
  return rows[0] && messageFromRow(rows[0]);
}

// The answer being streamed in a conversation, if any (whichever replica runs it).
export async function findStreamingAnswer(db: Db, conversationId: string): Promise<Message | undefined> {
  const rows = await db.timed('runs.find_streaming', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages
     WHERE conversation_id = ${conversationId} AND status = 'streaming'
     ORDER BY seq DESC LIMIT 1`);
  return rows[0] && messageFromRow(rows[0]);
}

// What a joining socket needs in one round trip: ownership, last_seq and the answer
// streaming right now, if any.
export async function findOwnedForJoin(db: Db, userId: string, conversationId: string): Promise<{ id: string; last_seq: number; streaming: Message | undefined } | undefined> {
  const rows = await db.timed('runs.find_owned_for_join', (sql) => sql<{ id: string; last_seq: string; streaming: MessageRow | null }[]>`
    SELECT c.id, c.last_seq, to_jsonb(m) AS streaming
      FROM conversations c
      LEFT JOIN LATERAL (
        SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages
         WHERE conversation_id = c.id AND status = 'streaming'
         ORDER BY seq DESC LIMIT 1) m ON true
     WHERE c.id = ${conversationId} AND c.user_id = ${userId}`);
  const r = rows[0];
  if (r === undefined) return undefined;
  const m = r.streaming;
  return {
    id: r.id,
    last_seq: Number(r.last_seq),
    streaming: m === null ? undefined : messageFromRow(m),
  };
}

export async function findMessage(db: Db, conversationId: string, messageId: string): Promise<Message | undefined> {
  const rows = await db.timed('ui_chat.find_message', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages WHERE conversation_id = ${conversationId} AND id = ${messageId}`);
  return rows[0] && messageFromRow(rows[0]);
}

// The answer of a user message (streaming or ended), if it has one yet: the row that replies
// to it, or, for answers stored before they named their message (0006), the first after it.
export async function findAnswerAfter(db: Db, conversationId: string, seq: number): Promise<Message | undefined> {
  const rows = await db.timed('ui_chat.answer_after', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages
     WHERE conversation_id = ${conversationId} AND seq > ${seq} AND role = 'assistant'
       AND (reply_to = ${seq} OR reply_to IS NULL)
     ORDER BY seq LIMIT 1`);
  return rows[0] && messageFromRow(rows[0]);
}

export async function findMessageBySeq(db: Db, conversationId: string, seq: number): Promise<Message | undefined> {
  const rows = await db.timed('ui_chat.by_seq', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages WHERE conversation_id = ${conversationId} AND seq = ${seq}`);
  return rows[0] && messageFromRow(rows[0]);
}

export async function recentTurns(db: Db, conversationId: string, limit: number): Promise<{ role: string; content: string }[]> {
  const rows = await db.timed('runs.recent_turns', (sql) => sql<{ role: string; content: string }[]>`
    SELECT role, content FROM (
      SELECT role, content, seq FROM messages
       WHERE conversation_id = ${conversationId} AND status IN ('complete', 'cancelled', 'interrupted') AND content <> ''
       ORDER BY seq DESC LIMIT ${limit}) t
    ORDER BY seq`);
  return [...rows];
}

export interface SearchRow {
  message_id: string;
  seq: number;
  role: string;
  snippet: string;
  created_at: Date;
}

// Full-text match first, substring as a fallback for words the parser drops.
export async function searchConversationMessages(db: Db, conversationId: string, query: string, limit: number, beforeSeq: number): Promise<SearchRow[]> {
  const rows = await db.timed('runs.search', (sql) => sql<(SearchRow & { seq: string })[]>`
    SELECT id AS message_id, seq, role, left(content, 200) AS snippet, created_at FROM messages
     WHERE conversation_id = ${conversationId} AND seq < ${beforeSeq} AND status <> 'streaming'
       AND (to_tsvector('simple', content) @@ plainto_tsquery('simple', ${query})
            OR content ILIKE ${'%' + query.replace(/[\\%_]/g, (c) => '\\' + c) + '%'})
     ORDER BY seq DESC LIMIT ${limit}`);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}
