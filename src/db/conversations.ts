// Conversation queries. Every read and write is scoped by user_id in SQL, so "not
// yours" and "does not exist" are the same empty result by construction.
import type { Conversation } from '../core/conversations.js';
import type { ListCursor } from '../core/cursor.js';
import type { Db } from './client.js';

// The row is the core's Conversation (cursor_ts carries the exact timestamp for cursors).
export type ConversationRow = Conversation;

// Column list shared by every query that returns a conversation.
const COLS = `id, title, metadata, last_seq::int8 AS last_seq, created_at, updated_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts`;

function normalise(row: ConversationRow): ConversationRow {
  return { ...row, last_seq: Number(row.last_seq) };
}

export async function insertConversation(
  db: Db,
  userId: string,
  title: string,
  metadata: Record<string, unknown>,
): Promise<ConversationRow> {
  const rows = await db.timed('conversations.insert', (sql) => sql<ConversationRow[]>`
    INSERT INTO conversations (user_id, title, metadata)
    VALUES (${userId}, ${title}, ${sql.json(metadata as never)})
    RETURNING ${sql.unsafe(COLS)}`);
  return normalise(rows[0]!);
}

export async function findOwnedConversation(db: Db, userId: string, id: string): Promise<ConversationRow | undefined> {
  const rows = await db.timed('conversations.find_owned', (sql) => sql<ConversationRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM conversations WHERE id = ${id} AND user_id = ${userId}`);
  return rows[0] === undefined ? undefined : normalise(rows[0]);
}

export async function listConversations(
  db: Db,
  userId: string,
  limit: number,
  before: ListCursor | undefined,
): Promise<ConversationRow[]> {
  const rows = await db.timed('conversations.list', (sql) =>
    before === undefined
      ? sql<ConversationRow[]>`
          SELECT ${sql.unsafe(COLS)} FROM conversations WHERE user_id = ${userId}
          ORDER BY created_at DESC, id DESC LIMIT ${limit}`
      : sql<ConversationRow[]>`
          SELECT ${sql.unsafe(COLS)} FROM conversations
           WHERE user_id = ${userId} AND (created_at, id) < (${before.t}::timestamptz, ${before.id}::uuid)
          ORDER BY created_at DESC, id DESC LIMIT ${limit}`);
  return rows.map(normalise);
}

export async function renameConversation(db: Db, userId: string, id: string, title: string): Promise<ConversationRow | undefined> {
  const rows = await db.timed('conversations.rename', (sql) => sql<ConversationRow[]>`
    UPDATE conversations SET title = ${title}, updated_at = clock_timestamp()
     WHERE id = ${id} AND user_id = ${userId}
    RETURNING ${sql.unsafe(COLS)}`);
  return rows[0] === undefined ? undefined : normalise(rows[0]);
}

export async function deleteConversation(db: Db, userId: string, id: string): Promise<boolean> {
  const res = await db.timed('conversations.delete', (sql) => sql`
    DELETE FROM conversations WHERE id = ${id} AND user_id = ${userId}`);
  return res.count > 0;
}
