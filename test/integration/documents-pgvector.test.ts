// The pgvector search path for real: Debian's PostgreSQL 15 with pgvector built from source
// (tools/pgvector/build.sh), the server creating the extension and its HNSW index at start-up,
// searches answering what the exact array path answers, and an HNSW scan still finding every
// hit when other users' chunks crowd the nearest neighbours (which an approximate scan that
// filters afterwards gets wrong without pgvector's iterative scans).
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentService } from '../../src/agent/embeddings/document-service.js';
import { HashingEmbedder, hashEmbed } from '../../src/agent/embeddings/hashing.js';
import { createDb, type Db } from '../../src/db/client.js';
import { documentStore } from '../../src/db/document-store.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { searchChunks } from '../../src/db/embeddings.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { startFakeOpenAi, type FakeOpenAi, type Received, type Reply } from '../fixtures/openai/fake-server.js';
import { pgvectorUnavailable, PG15_BIN } from '../helpers/pgvector.js';
import { skipOrFail } from '../helpers/skip.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';

const CORPUS = path.resolve(import.meta.dirname, '../fixtures/documents');
const FILES = readdirSync(CORPUS).filter((n) => n !== 'README.md');
const QUERIES = [
  'how do I reset the router admin password',
  'how long should I bake the bread',
  'when is the container restarted by the kubelet',
  'penalty for filing taxes late',
  'how much should I taper before the race',
  'my plant has yellow leaves',
];

const skip = skipOrFail(pgvectorUnavailable(), (r) => `${r} (CI=true: the pgvector suite must run)`);
let pg: EmbeddedPostgres;
let db: Db;
let s: ServerProcess;
const dir = mkdtempSync(path.join(os.tmpdir(), 'pgvector-'));
chmodSync(dir, 0o755); // the cluster runs as the postgres user, who must reach its directory

const upload = async (tok: string, file: string) => {
  const res = await fetch(`${s.url}/api/v1/documents`, {
    method: 'POST', headers: { ...bearer(tok), 'content-type': 'application/json' },
    body: JSON.stringify({ title: file, content: readFileSync(path.join(CORPUS, file), 'utf8'), content_type: file.endsWith('.md') ? 'text/markdown' : 'text/plain' }),
  });
  expect(res.status).toBe(201);
};

describe.skipIf(skip !== undefined)(`document search on pgvector${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  let carol: string;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), binDir: PG15_BIN });
    s = await startServer({ ...AUTH_ENV, DATABASE_URL: pg.url }, 'pgvector');
    db = createDb(pg.url, { max: 2 });
    carol = await token('carol');
    for (const f of FILES) await upload(carol, f);
    // Twenty copies of the same corpus for another user: for every query, the nearest
    // neighbours in the whole table are mostly theirs.
    const bob = await token('bob');
    for (let i = 0; i < 20; i++) for (const f of FILES) await upload(bob, f);
  }, 300_000);

  afterAll(async () => {
    await s?.stop();
    await db?.end();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the extension and the HNSW index at start-up, and says so', async () => {
    const line = s.lines.find((l) => l.includes('"msg":"document search ready"'));
    expect(JSON.parse(line!)).toMatchObject({ vector_mode: 'pgvector', embedding_model: 'builtin-hash-1024' });
    const [ext] = await db.sql<{ extversion: string }[]>`SELECT extversion FROM pg_extension WHERE extname = 'vector'`;
    expect(ext?.extversion).toBe('0.8.0');
    const idx = await db.sql<{ indexdef: string }[]>`SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_vector_1024_idx'`;
    expect(idx[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops.*WHERE \(dims = 1024\)/);
  });

  it.each(QUERIES)('“%s”: the same hits as the exact search', async (q) => {
    const res = await fetch(`${s.url}/api/v1/documents/search?q=${encodeURIComponent(q)}&limit=5`, { headers: bearer(carol) });
    expect(res.status).toBe(200);
    const hits = (await res.json() as { hits: unknown[] }).hits;
    const exact = new DocumentService({ store: documentStore(db, 'array'), embedder: new HashingEmbedder(), maxBytes: 1 << 20 });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits).toEqual(await exact.search('carol', q, 5));
  });

  // Steered onto the HNSW index (the planner prefers exact scans on a table this small), where
  // bob's twenty copies of every chunk tie with carol's one. ef_search 1: one candidate per
  // scan step, as on a table so large that other users' nearest rows fill any candidate list
  // (duplicate vectors share an HNSW element, so here the default of 40 would hold them all).
  async function steered<T>(use: (steeredDb: Db) => Promise<T>): Promise<T> {
    const sql = postgres(pg.url, {
      max: 1, onnotice: () => undefined,
      connection: { enable_seqscan: 'off', enable_bitmapscan: 'off', enable_sort: 'off', 'hnsw.ef_search': '1' },
    });
    try {
      const steeredSql = sql as unknown as Db['sql'];
      return await use({ sql: steeredSql, timed: (_name, run) => run(steeredSql), session: (_name, run) => run(steeredSql), end: () => sql.end() });
    } finally {
      await sql.end();
    }
  }
  const key = (h: { document_id: string; chunk_index: number }) => `${h.document_id}#${h.chunk_index}`;
  const scope = { userId: 'carol', model: 'builtin-hash-1024', limit: 5 };

  it('an HNSW scan filtered to one user still finds every hit (iterative scan)', async () => {
    await steered(async (sdb) => {
      const plan = await sdb.sql.unsafe(`EXPLAIN SELECT 1 FROM embeddings e WHERE e.user_id = 'carol' AND e.dims = 1024
        ORDER BY (e.embedding::vector(1024)) <=> ('{${hashEmbed(QUERIES[0]!).join(',')}}'::real[]::vector(1024)) LIMIT 5`);
      expect(plan.map((r) => Object.values(r)[0]).join('\n')).toContain('Index Scan using embeddings_vector_1024_idx');
      let truncatedWithout = 0;
      for (const q of QUERIES) {
        const exact = (await searchChunks(db, 'array', hashEmbed(q), scope)).map(key).sort();
        // the order of exact ties may differ; the hits may not
        expect((await searchChunks(sdb, 'pgvector', hashEmbed(q), scope)).map(key).sort()).toEqual(exact);
        // what the search's set_config('hnsw.iterative_scan') prevents: the same scan with
        // the default (off) loses hits; and the setting does not outlive the search's statement
        const without = await sdb.sql.unsafe(`SELECT current_setting('hnsw.iterative_scan') AS mode FROM embeddings e
          WHERE e.user_id = 'carol' AND e.model = 'builtin-hash-1024' AND e.dims = 1024
          ORDER BY (e.embedding::vector(1024)) <=> ('{${hashEmbed(q).join(',')}}'::real[]::vector(1024)) LIMIT 5`);
        expect(without.every((r) => r.mode === 'off')).toBe(true);
        if (without.length < exact.length) truncatedWithout++;
      }
      expect(truncatedWithout).toBeGreaterThan(0);
    });
  });

  describe('a remote embedder, whose vector size is learnt from its answers', () => {
    let fake: FakeOpenAi;
    let remote: ServerProcess;
    let dims = 256;

    beforeAll(async () => {
      fake = await startFakeOpenAi();
      fake.fallback = (req: Received): Reply => ({
        kind: 'json',
        body: { object: 'list', data: (req.body.input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: hashEmbed(t, dims) })) },
      });
      remote = await startServer({ ...AUTH_ENV, DATABASE_URL: pg.url, EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_BASE_URL: fake.url, EMBEDDINGS_MODEL: 'remote-embedder' }, 'pgvector-remote');
    });

    afterAll(async () => {
      await remote?.stop();
      await fake?.close();
    });

    const indexOf = async (n: number) => (await db.sql`SELECT 1 FROM pg_indexes WHERE indexname = ${`embeddings_vector_${n}_idx`}`).length === 1;
    const post = (title: string, content: string) => fetch(`${remote.url}/api/v1/documents`, {
      method: 'POST', headers: { ...bearer(carol), 'content-type': 'application/json' }, body: JSON.stringify({ title, content }),
    });
    const search = async (q: string) => (await (await fetch(`${remote.url}/api/v1/documents/search?q=${encodeURIComponent(q)}`, { headers: bearer(carol) })).json() as { hits: { title: string }[] }).hits;

    it('creates the HNSW index for that size with the first document, and searches with it', async () => {
      expect(JSON.parse(remote.lines.find((l) => l.includes('"msg":"document search ready"'))!)).toMatchObject({ vector_mode: 'pgvector', embedding_model: 'remote-embedder' });
      expect(await indexOf(256)).toBe(false);
      expect((await post('Kettle', 'Descale the kettle with vinegar every month.')).status).toBe(201);
      expect(await indexOf(256)).toBe(true);
      expect((await search('descale kettle'))[0]?.title).toBe('Kettle');
    });

    it('stores a document whose vectors are too large for an HNSW index, says why, and still finds it', async () => {
      dims = 3072; // text-embedding-3-large; pgvector indexes vectors of up to 2000 dimensions
      expect((await post('Bicycle', 'Oil the bicycle chain after riding in the rain.')).status).toBe(201);
      expect(await indexOf(3072)).toBe(false);
      // the server logs asynchronously: the line may reach us a moment after the response
      const said = () => remote.lines.some((l) => l.includes('could not create the HNSW index') && l.includes('"dims":3072'));
      for (let i = 0; i < 100 && !said(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(said()).toBe(true);
      expect((await search('bicycle chain rain'))[0]?.title).toBe('Bicycle');
    });
  });
});
