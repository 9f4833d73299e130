// Queries behind the UI message stream endpoints: one message of a conversation, and the
// tool calls of an answer with their approval state (what a resumed stream replays).
import type { Db } from './client.js';
import type { MessageRow } from './messages.js';

const COLS = `id, conversation_id, seq::int8 AS seq, role, status, content, client_msg_id, run_id,
  user_id, metadata, created_at, updated_at`;

export async function findMessage(db: Db, conversationId: string, messageId: string): Promise<MessageRow | undefined> {
  const rows = await db.timed('ui_chat.find_message', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM messages WHERE conversation_id = ${conversationId} AND id = ${messageId}`);
  return rows[0] === undefined ? undefined : { ...rows[0], seq: Number(rows[0].seq) };
}

// The first answer after a user message (the one its run wrote), if any yet.
export async function findAnswerAfter(db: Db, conversationId: string, seq: number): Promise<MessageRow | undefined> {
  const rows = await db.timed('ui_chat.answer_after', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM messages
     WHERE conversation_id = ${conversationId} AND seq > ${seq} AND role = 'assistant'
     ORDER BY seq LIMIT 1`);
  return rows[0] === undefined ? undefined : { ...rows[0], seq: Number(rows[0].seq) };
}

export async function findMessageBySeq(db: Db, conversationId: string, seq: number): Promise<MessageRow | undefined> {
  const rows = await db.timed('ui_chat.by_seq', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM messages WHERE conversation_id = ${conversationId} AND seq = ${seq}`);
  return rows[0] === undefined ? undefined : { ...rows[0], seq: Number(rows[0].seq) };
}

export interface ToolCallRow {
  id: string;
  run_id: string;
  name: string;
  arguments: Record<string, unknown>;
  status: 'running' | 'awaiting_approval' | 'succeeded' | 'failed' | 'denied';
  result: unknown;
  error: string | null;
  approval_id: string | null;
  approval: 'pending' | 'approved' | 'denied' | null;
  approval_expires_at: Date | null;
}

export async function toolCallsOfMessage(db: Db, messageId: string): Promise<ToolCallRow[]> {
  const rows = await db.timed('ui_chat.tool_calls', (sql) => sql<ToolCallRow[]>`
    SELECT id, run_id, name, arguments, status, result, error, approval_id, approval, approval_expires_at
      FROM tool_calls WHERE message_id = ${messageId} ORDER BY started_at, id`);
  return [...rows];
}
