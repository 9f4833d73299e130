// Similarity search over chunk embeddings, in SQL. With pgvector (when the database offers the
// extension) vectors are compared by its <=> cosine distance through an HNSW expression index
// per dimension; without it, by cosine_similarity() over the plain real[] column (migration 0003).
import type { ChunkHit, SearchScope, VectorMode } from '../core/documents.js';
import type { Db } from './client.js';

export type { ChunkHit, SearchScope, VectorMode };

// Pure so the choice is testable on a database that lacks the extension.
export function chooseVectorMode(available: boolean, created: boolean): VectorMode {
  return available && created ? 'pgvector' : 'array';
}

export async function vectorExtensionAvailable(db: Db): Promise<boolean> {
  const rows = await db.timed('embeddings.vector_available', (sql) => sql`
    SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
  return rows.length > 0;
}

// Iterative index scans (hnsw.iterative_scan, set by every pgvector search) arrived in 0.8.0;
// without them a search filtered to one user returns fewer hits than it should whenever
// other users' chunks are nearer, so older versions are not used.
export const MIN_PGVECTOR = [0, 8, 0] as const;

export function pgvectorUsable(version: string): boolean {
  const v = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < MIN_PGVECTOR.length; i++) {
    if ((v[i] ?? 0) !== MIN_PGVECTOR[i]) return (v[i] ?? 0) > MIN_PGVECTOR[i]!;
  }
  return true;
}

// Creates the extension; throws when this role may not or the version is too old, and the
// array path then serves every search.
export async function enableVector(db: Db): Promise<true> {
  await db.timed('embeddings.enable_vector', async (sql) => {
    await sql`CREATE EXTENSION IF NOT EXISTS vector`;
    const [ext] = await sql<{ extversion: string }[]>`SELECT extversion FROM pg_extension WHERE extname = 'vector'`;
    if (!ext || !pgvectorUsable(ext.extversion)) {
      throw new Error(`pgvector ${ext?.extversion ?? '(none)'} has no iterative index scans (needs ${MIN_PGVECTOR.join('.')}+; ALTER EXTENSION vector UPDATE)`);
    }
  });
  return true;
}

// One HNSW expression index per vector size: a column of mixed sizes cannot be one vector(N).
export async function ensureVectorIndex(db: Db, dims: number): Promise<void> {
  if (!Number.isInteger(dims) || dims < 1 || dims > 2000) throw new Error(`no HNSW index for dimension ${dims} (pgvector indexes up to 2000)`);
  await db.timed('embeddings.ensure_vector_index', (sql) => sql.unsafe(`CREATE INDEX IF NOT EXISTS embeddings_vector_${dims}_idx ON embeddings
    USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE dims = ${dims}`));
}

export async function searchChunks(db: Db, mode: VectorMode, query: number[], s: SearchScope): Promise<ChunkHit[]> {
  const dims = query.length;
  const vec = `{${query.join(',')}}`;
  return db.timed(`embeddings.search_${mode}`, (sql) => {
    const scope = s.conversationId === undefined ? sql`` : sql`AND (d.conversation_id IS NULL OR d.conversation_id = ${s.conversationId})`;
    if (mode === 'pgvector') {
      const cast = sql.unsafe(`::vector(${Number(dims)})`);
      // dims as a literal, not a parameter: a generic plan (from the sixth execution of the
      // prepared statement) can then still prove the partial index's WHERE dims = N.
      const sameDims = sql.unsafe(`e.dims = ${Number(dims)}`);
      // An HNSW scan whose rows are filtered afterwards (user, model, conversation) would stop
      // after ef_search candidates and return fewer hits than exist; strict_order keeps it
      // scanning, in distance order, until the LIMIT is met. Set for this statement only
      // (set_config's is_local: its implicit transaction), not as a connection parameter
      // (poolers such as PgBouncer refuse unknown startup parameters) nor with SET LOCAL in
      // sql.begin() (which can end the process on a lost connection, see client.ts). The
      // clause has no column, so the planner makes it a one-time filter, evaluated before
      // the scan below it reads a row.
      return sql<ChunkHit[]>`
        SELECT e.document_id, d.title, e.chunk_index, e.content,
               1 - ((e.embedding${cast}) <=> (${vec}::real[]${cast})) AS score
          FROM embeddings e JOIN documents d ON d.id = e.document_id
         WHERE e.user_id = ${s.userId} AND e.model = ${s.model} AND ${sameDims} ${scope}
           AND (SELECT set_config('hnsw.iterative_scan', 'strict_order', true)) IS NOT NULL
         ORDER BY (e.embedding${cast}) <=> (${vec}::real[]${cast}) LIMIT ${s.limit}`;
    }
    return sql<ChunkHit[]>`
      SELECT e.document_id, d.title, e.chunk_index, e.content, cosine_similarity(e.embedding, ${vec}::real[]) AS score
        FROM embeddings e JOIN documents d ON d.id = e.document_id
       WHERE e.user_id = ${s.userId} AND e.model = ${s.model} AND e.dims = ${dims} ${scope}
       ORDER BY score DESC, e.document_id, e.chunk_index LIMIT ${s.limit}`;
  });
}
