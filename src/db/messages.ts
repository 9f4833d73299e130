// Message queries. seq comes from conversations.last_seq bumped in the same
// transaction as the insert: the row lock serialises writers per conversation and a
// rollback returns the number, so seq stays gap-free.
import type { Db } from './client.js';
import { isUniqueViolation } from './client.js';
import type { Message, MessageRole, MessageStatus } from '../core/message.js';
import type { Checkpoint } from '../core/run-store.js';

// A row as MESSAGE_COLS selects it: seq is int8 (a string from the driver), and read
// through to_jsonb the dates are strings too.
export type MessageRow = Omit<Message, 'seq' | 'created_at' | 'updated_at'> & { seq: number | string; created_at: Date | string; updated_at: Date | string };

// The one row mapper: every reader of messages returns what it gives.
export function messageFromRow(r: MessageRow): Message {
  return { ...r, seq: Number(r.seq), created_at: new Date(r.created_at), updated_at: new Date(r.updated_at) };
}

// The columns of a message as every reader sees them. A streaming answer's text since its
// last flush lives in answer_chunks (see 0004_answer_chunks.sql) until the answer ends, so
// it is assembled here; for any other row the CASE never runs the subquery.
export const MESSAGE_COLS = `id, conversation_id, seq::int8 AS seq, role, status,
  CASE WHEN status = 'streaming' THEN content || COALESCE((
    SELECT string_agg(c.text, '' ORDER BY c.off) FROM answer_chunks c WHERE c.message_id = messages.id), '')
  ELSE content END AS content,
  client_msg_id, run_id, user_id, metadata, created_at, updated_at`;

export interface NewMessage {
  conversationId: string;
  role: MessageRole;
  content: string;
  status?: MessageStatus;
  clientMsgId?: string | null;
  userId?: string | null;
  runId?: string | null;
  runnerId?: bigint | null;
  replyTo?: number | null; // an answer: the seq of the message it answers (0006)
  metadata?: Record<string, unknown>;
}

// One statement, so one round trip and one commit: bump the counter and insert, unless
// the client_msg_id is already stored. Two racing retries serialise on the conversation
// row; the loser hits the unique key, its whole statement (the bump included) rolls back,
// and it returns the stored original. seq therefore stays gap-free.
export type InsertOutcome =
  | { kind: 'created'; message: Message }
  | { kind: 'duplicate'; message: Message }
  | { kind: 'no_conversation' };

// started: an answer's first checkpoint, inserted with its row by the same statement.
export async function insertMessage(db: Db, m: NewMessage, started?: Pick<Checkpoint, 'step' | 'kind' | 'state'>): Promise<InsertOutcome> {
  try {
    const rows = await db.timed('messages.insert', (sql) => sql<(MessageRow & { existing: boolean })[]>`
      WITH existing AS (
        SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages
         WHERE ${m.clientMsgId ?? null}::uuid IS NOT NULL AND conversation_id = ${m.conversationId} AND client_msg_id = ${m.clientMsgId ?? null}
      ), bump AS (
        UPDATE conversations SET last_seq = last_seq + 1, updated_at = clock_timestamp()
         WHERE id = ${m.conversationId} AND NOT EXISTS (SELECT 1 FROM existing)
        RETURNING last_seq
      ), ins AS (
        INSERT INTO messages (conversation_id, seq, role, status, content, client_msg_id, user_id, run_id, runner_id, reply_to, metadata)
        SELECT ${m.conversationId}, bump.last_seq, ${m.role}, ${m.status ?? 'complete'}, ${m.content},
               ${m.clientMsgId ?? null}, ${m.userId ?? null}, ${m.runId ?? null}, ${m.runnerId?.toString() ?? null}, ${m.replyTo ?? null},
               ${sql.json((m.metadata ?? {}) as never)}
          FROM bump
        RETURNING ${sql.unsafe(MESSAGE_COLS)}
      )${started ? sql`, cp AS (
        INSERT INTO agent_checkpoints (run_id, conversation_id, message_id, step, kind, state)
        SELECT ins.run_id, ins.conversation_id, ins.id, ${started.step}, ${started.kind}, ${sql.json(started.state as never)} FROM ins
      )` : sql``}
      SELECT *, false AS existing FROM ins UNION ALL SELECT *, true AS existing FROM existing`);
    const row = rows[0];
    if (row === undefined) return { kind: 'no_conversation' };
    const { existing, ...message } = row;
    return { kind: existing ? 'duplicate' : 'created', message: messageFromRow(message) };
  } catch (err) {
    if (!isUniqueViolation(err, 'messages_conversation_client_msg_key') || !m.clientMsgId) throw err;
    const stored = await findByClientMsgId(db, m.conversationId, m.clientMsgId);
    if (stored === undefined) throw err;
    return { kind: 'duplicate', message: stored };
  }
}

export async function findByClientMsgId(db: Db, conversationId: string, clientMsgId: string): Promise<Message | undefined> {
  const rows = await db.timed('messages.find_by_client_id', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages WHERE conversation_id = ${conversationId} AND client_msg_id = ${clientMsgId}`);
  return rows[0] && messageFromRow(rows[0]);
}

export async function listMessagesAfter(db: Db, conversationId: string, afterSeq: number, limit: number): Promise<Message[]> {
  const rows = await db.timed('messages.list_after', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MESSAGE_COLS)} FROM messages
     WHERE conversation_id = ${conversationId} AND seq > ${afterSeq}
     ORDER BY seq LIMIT ${limit}`);
  return rows.map(messageFromRow);
}
