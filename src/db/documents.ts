// Queries behind /api/v1/documents: a document and its chunk vectors are written in one
// transaction, so a document is never visible half-embedded; deleting it takes its embeddings
// (ON DELETE CASCADE). Every query is scoped by user_id: another user's document is "not found".
import type { ListCursor } from '../core/cursor.js';
import type { Document, NewDocument } from '../core/documents.js';
import type { Db } from './client.js';

const COLS = `id, user_id, conversation_id, title, content_type, size_bytes, chunk_count, created_at, updated_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts`;

export async function conversationOwned(db: Db, userId: string, conversationId: string): Promise<boolean> {
  const rows = await db.timed('documents.conversation_owned', (sql) => sql`
    SELECT 1 FROM conversations WHERE id = ${conversationId} AND user_id = ${userId}`);
  return rows.length > 0;
}

// One statement, not sql.begin(): postgres.js 3.4.9 crashes the process (uncaught
// TypeError in nextWrite) when a transaction's backend dies and it writes the ROLLBACK
// to the closed socket. A single statement is just as atomic.
export async function insertDocument(db: Db, d: NewDocument): Promise<Document> {
  const chunks = d.chunks.map((c) => ({
    chunk_index: c.index, content: c.content, start_offset: c.start, end_offset: c.end, dims: c.embedding.length, embedding: c.embedding,
  }));
  const rows = await db.timed('documents.insert', (sql) => sql<Document[]>`
    WITH doc AS (
      INSERT INTO documents (user_id, conversation_id, title, content_type, content, size_bytes, chunk_count)
      VALUES (${d.userId}, ${d.conversationId}, ${d.title}, ${d.contentType}, ${d.content}, ${Buffer.byteLength(d.content)}, ${d.chunks.length})
      RETURNING *),
    emb AS (
      INSERT INTO embeddings (document_id, user_id, chunk_index, content, start_offset, end_offset, model, dims, embedding)
      SELECT doc.id, doc.user_id, r.chunk_index, r.content, r.start_offset, r.end_offset, ${d.model}, r.dims, r.embedding
        FROM doc, jsonb_to_recordset(${sql.json(chunks as never)}::jsonb)
          AS r(chunk_index integer, content text, start_offset integer, end_offset integer, dims integer, embedding real[]))
    SELECT ${sql.unsafe(COLS)} FROM doc`);
  return rows[0]!;
}

// Newest first, optionally only those attached to one conversation; keyset pages over
// documents_user_created_idx.
export async function listDocuments(
  db: Db,
  userId: string,
  limit: number,
  before: ListCursor | undefined,
  conversationId: string | undefined,
): Promise<Document[]> {
  return db.timed('documents.list', (sql) => sql<Document[]>`
    SELECT ${sql.unsafe(COLS)} FROM documents
     WHERE user_id = ${userId}
       ${conversationId === undefined ? sql`` : sql`AND conversation_id = ${conversationId}`}
       ${before === undefined ? sql`` : sql`AND (created_at, id) < (${before.t}::timestamptz, ${before.id}::uuid)`}
     ORDER BY created_at DESC, id DESC LIMIT ${limit}`);
}

export async function getDocument(db: Db, userId: string, id: string): Promise<(Document & { content: string }) | undefined> {
  const rows = await db.timed('documents.get', (sql) => sql<(Document & { content: string })[]>`
    SELECT ${sql.unsafe(COLS)}, content FROM documents WHERE id = ${id} AND user_id = ${userId}`);
  return rows[0];
}

export async function deleteDocument(db: Db, userId: string, id: string): Promise<boolean> {
  const rows = await db.timed('documents.delete', (sql) => sql`
    DELETE FROM documents WHERE id = ${id} AND user_id = ${userId} RETURNING id`);
  return rows.length > 0;
}
