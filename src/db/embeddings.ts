// Similarity search over chunk embeddings, in SQL. With pgvector (when the database offers the
// extension) vectors are compared by its <=> cosine distance through an HNSW expression index
// per dimension; without it, by cosine_similarity() over the plain real[] column (migration 0003).
import type { Db } from './client.js';

export type VectorMode = 'pgvector' | 'array';

export interface ChunkHit {
  document_id: string;
  title: string;
  chunk_index: number;
  content: string;
  score: number;
}

// Pure so the choice is testable on a database that lacks the extension.
export function chooseVectorMode(available: boolean, created: boolean): VectorMode {
  return available && created ? 'pgvector' : 'array';
}

export async function vectorExtensionAvailable(db: Db): Promise<boolean> {
  const rows = await db.timed('embeddings.vector_available', (sql) => sql`
    SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
  return rows.length > 0;
}

// Creates the extension, and the index when the dimension is known up front (the built-in
// embedder's); throws when this role may not, and the array path then serves every search.
export async function enableVectorIndex(db: Db, dims: number | undefined): Promise<true> {
  if (dims !== undefined && (!Number.isInteger(dims) || dims < 1 || dims > 2000)) throw new Error(`no HNSW index for dimension ${dims}`);
  await db.timed('embeddings.enable_vector', async (sql) => {
    await sql`CREATE EXTENSION IF NOT EXISTS vector`;
    if (dims !== undefined) {
      await sql.unsafe(`CREATE INDEX IF NOT EXISTS embeddings_vector_${dims}_idx ON embeddings
        USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE dims = ${dims}`);
    }
  });
  return true;
}

export interface SearchScope {
  userId: string;
  model: string;
  // documents of this conversation and documents attached to none; undefined: all of the user's
  conversationId?: string;
  limit: number;
}

export async function searchChunks(db: Db, mode: VectorMode, query: number[], s: SearchScope): Promise<ChunkHit[]> {
  const dims = query.length;
  const vec = `{${query.join(',')}}`;
  return db.timed(`embeddings.search_${mode}`, (sql) => {
    const scope = s.conversationId === undefined ? sql`` : sql`AND (d.conversation_id IS NULL OR d.conversation_id = ${s.conversationId})`;
    if (mode === 'pgvector') {
      const cast = sql.unsafe(`::vector(${Number(dims)})`);
      return sql<ChunkHit[]>`
        SELECT e.document_id, d.title, e.chunk_index, e.content,
               1 - ((e.embedding${cast}) <=> (${vec}::real[]${cast})) AS score
          FROM embeddings e JOIN documents d ON d.id = e.document_id
         WHERE e.user_id = ${s.userId} AND e.model = ${s.model} AND e.dims = ${dims} ${scope}
         ORDER BY (e.embedding${cast}) <=> (${vec}::real[]${cast}) LIMIT ${s.limit}`;
    }
    return sql<ChunkHit[]>`
      SELECT e.document_id, d.title, e.chunk_index, e.content, cosine_similarity(e.embedding, ${vec}::real[]) AS score
        FROM embeddings e JOIN documents d ON d.id = e.document_id
       WHERE e.user_id = ${s.userId} AND e.model = ${s.model} AND e.dims = ${dims} ${scope}
       ORDER BY score DESC, e.document_id, e.chunk_index LIMIT ${s.limit}`;
  });
}
