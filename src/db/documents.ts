// Queries behind /api/v1/documents: a document and its chunk vectors are written in one
// transaction, so a document is never visible half-embedded; deleting it takes its embeddings
// (ON DELETE CASCADE). Every query is scoped by user_id: another user's document is "not found".
import type { ListCursor } from '../core/cursor.js';
import type { Db } from './client.js';

export interface DocumentRow {
  id: string;
  user_id: string;
  conversation_id: string | null;
  title: string;
  content_type: string;
  size_bytes: number;
  chunk_count: number;
  created_at: Date;
  updated_at: Date;
  cursor_ts: string;
}

const COLS = `id, user_id, conversation_id, title, content_type, size_bytes, chunk_count, created_at, updated_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts`;

export interface NewDocument {
  userId: string;
  conversationId: string | null;
  title: string;
  contentType: string;
  content: string;
  chunks: { index: number; content: string; start: number; end: number; embedding: number[] }[];
  model: string;
}

export async function conversationOwned(db: Db, userId: string, conversationId: string): Promise<boolean> {
  const rows = await db.timed('documents.conversation_owned', (sql) => sql`
    SELECT 1 FROM conversations WHERE id = ${conversationId} AND user_id = ${userId}`);
  return rows.length > 0;
}

export async function insertDocument(db: Db, d: NewDocument): Promise<DocumentRow> {
  return db.timed('documents.insert', (sql) => sql.begin(async (tx) => {
    const [doc] = await tx<DocumentRow[]>`
      INSERT INTO documents (user_id, conversation_id, title, content_type, content, size_bytes, chunk_count)
      VALUES (${d.userId}, ${d.conversationId}, ${d.title}, ${d.contentType}, ${d.content}, ${Buffer.byteLength(d.content)}, ${d.chunks.length})
      RETURNING ${tx.unsafe(COLS)}`;
    if (d.chunks.length > 0) {
      const rows = d.chunks.map((c) => ({
        document_id: doc!.id, user_id: d.userId, chunk_index: c.index, content: c.content, start_offset: c.start,
        end_offset: c.end, model: d.model, dims: c.embedding.length, embedding: `{${c.embedding.join(',')}}`,
      }));
      await tx`INSERT INTO embeddings ${tx(rows as never)}`;
    }
    return doc!;
  }) as Promise<DocumentRow>);
}

// Newest first, optionally only those attached to one conversation; keyset pages over
// documents_user_created_idx.
export async function listDocuments(
  db: Db,
  userId: string,
  limit: number,
  before: ListCursor | undefined,
  conversationId: string | undefined,
): Promise<DocumentRow[]> {
  return db.timed('documents.list', (sql) => sql<DocumentRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM documents
     WHERE user_id = ${userId}
       ${conversationId === undefined ? sql`` : sql`AND conversation_id = ${conversationId}`}
       ${before === undefined ? sql`` : sql`AND (created_at, id) < (${before.t}::timestamptz, ${before.id}::uuid)`}
     ORDER BY created_at DESC, id DESC LIMIT ${limit}`);
}

export async function getDocument(db: Db, userId: string, id: string): Promise<(DocumentRow & { content: string }) | undefined> {
  const rows = await db.timed('documents.get', (sql) => sql<(DocumentRow & { content: string })[]>`
    SELECT ${sql.unsafe(COLS)}, content FROM documents WHERE id = ${id} AND user_id = ${userId}`);
  return rows[0];
}

export async function deleteDocument(db: Db, userId: string, id: string): Promise<boolean> {
  const rows = await db.timed('documents.delete', (sql) => sql`
    DELETE FROM documents WHERE id = ${id} AND user_id = ${userId} RETURNING id`);
  return rows.length > 0;
}
