// /api/v1/documents through the running server on a real PostgreSQL: upload (chunked and
// embedded by the built-in hashing embedder), ownership, limits, search quality on the corpus in
// test/fixtures/documents, deletion with its embeddings, and the vector search path chosen.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseVectorMode, vectorExtensionAvailable } from '../../src/db/embeddings.js';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';
import { createConversation } from '../helpers/ws-client.js';

const CORPUS = path.resolve(import.meta.dirname, '../fixtures/documents');
const MAX = 64 * 1024;
const { s, tdb } = useServer('documents', { DOCUMENT_MAX_BYTES: String(MAX) }, 'docs');
let alice: string;
let bob: string;

beforeAll(async () => {
  [alice, bob] = await Promise.all([token('alice'), token('bob')]);
});

const api = (tok: string, p: string, init: RequestInit = {}) => fetch(`${s.url}/api/v1/documents${p}`, {
  ...init, headers: { ...bearer(tok), ...(init.body ? { 'content-type': 'application/json' } : {}) },
});
const post = (tok: string, body: unknown) => api(tok, '', { method: 'POST', body: JSON.stringify(body) });
const count = async (table: 'documents' | 'embeddings') => Number((await tdb.db.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n);

describe('upload, read, delete', () => {
  it('stores a document with its chunks and embeddings, visible to its owner only', async () => {
    const content = readFileSync(path.join(CORPUS, 'router-setup.md'), 'utf8');
    const res = await post(alice, { title: 'Router manual', content, content_type: 'text/markdown' });
    expect(res.status).toBe(201);
    const doc = await res.json() as { id: string; chunk_count: number; size_bytes: number };
    expect(doc).toMatchObject({ title: 'Router manual', content_type: 'text/markdown', conversation_id: null, size_bytes: Buffer.byteLength(content) });
    expect(doc.chunk_count).toBeGreaterThanOrEqual(1);
    const rows = await tdb.db.sql<{ chunk_index: number; content: string; start_offset: number; end_offset: number; model: string; dims: number }[]>`
      SELECT chunk_index, content, start_offset, end_offset, model, dims FROM embeddings WHERE document_id = ${doc.id} ORDER BY chunk_index`;
    expect(rows).toHaveLength(doc.chunk_count);
    for (const r of rows) expect(content.slice(r.start_offset, r.end_offset)).toBe(r.content);
    expect(rows[0]).toMatchObject({ model: 'builtin-hash-1024', dims: 1024 });

    const got = await api(alice, `/${doc.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ id: doc.id, content });
    expect((await (await api(alice, '')).json() as { items: { id: string }[] }).items.map((d) => d.id)).toContain(doc.id);

    expect((await api(bob, `/${doc.id}`)).status).toBe(404);
    expect((await api(bob, `/${doc.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await (await api(bob, '')).json() as { items: unknown[] }).items).toEqual([]);
    const search = await (await api(bob, '?q=reset%20router%20password'.replace('?', '/search?'))).json() as { hits: unknown[] };
    expect(search.hits).toEqual([]);
  });

  it('delete removes the document and its embeddings', async () => {
    const res = await post(alice, { title: 'Temp', content: 'Short lived note about umbrellas. It rains a lot.' });
    const { id } = await res.json() as { id: string };
    expect(Number((await tdb.db.sql`SELECT count(*)::int AS n FROM embeddings WHERE document_id = ${id}`)[0]!.n)).toBeGreaterThan(0);
    expect((await api(alice, `/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(alice, `/${id}`)).status).toBe(404);
    expect(Number((await tdb.db.sql`SELECT count(*)::int AS n FROM embeddings WHERE document_id = ${id}`)[0]!.n)).toBe(0);
    expect((await api(alice, `/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('attaches to an owned conversation only', async () => {
    const conv = await createConversation(s.url, alice);
    const ok = await post(alice, { title: 'Attached', content: 'Meeting notes.', conversation_id: conv });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ conversation_id: conv });
    const docs = await count('documents');
    const foreign = await post(bob, { title: 'Sneaky', content: 'Not yours.', conversation_id: conv });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: { code: 'conversation_not_found', message: 'body.conversation_id: no such conversation' } });
    expect(await count('documents')).toBe(docs);
  });
});

describe('listing', () => {
  it('pages newest first with a cursor, never skipping or repeating one, and filters by conversation', async () => {
    const dave = await token('dave'); // a user of their own, so other tests' documents are not in the pages
    const conv = await createConversation(s.url, dave);
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await post(dave, { title: `Note ${i}`, content: `Note number ${i}.`, ...(i % 3 === 0 ? { conversation_id: conv } : {}) });
      made.push((await res.json() as { id: string }).id);
    }
    type Listing = { items: { id: string; title: string }[]; next_cursor: string | null };
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api(dave, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = await res.json() as Listing;
      seen.push(...page.items.map((d) => d.id));
      cursor = page.next_cursor;
      pages++;
      // a document added between pages is newer than the cursor, so it shows on no later page
      if (pages === 1) await post(dave, { title: 'Late', content: 'Added while paging.' });
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());

    const attached = await (await api(dave, `?conversation_id=${conv}`)).json() as Listing;
    expect(attached.items.map((d) => d.title)).toEqual(['Note 6', 'Note 3', 'Note 0']);
    expect(attached.next_cursor).toBeNull();
    // someone else's conversation filters to nothing rather than telling whether it exists
    expect((await (await api(bob, `?conversation_id=${conv}`)).json() as Listing).items).toEqual([]);
  });

  it.each([
    ['a cursor it did not issue', '?cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
    ['a limit over 200', '?limit=201', 'query.limit'],
    ['a conversation id that is not a UUID', '?conversation_id=nope', 'query.conversation_id'],
  ])('%s → 400 naming the parameter', async (_name, query, field) => {
    const res = await api(alice, query);
    expect(res.status).toBe(400);
    expect((await res.json() as { error: { message: string } }).error.message).toContain(field);
  });
});

describe('bad input: a clear error and nothing stored', () => {
  it.each([
    ['empty content', { title: 'Empty', content: '' }, 'body.content'],
    ['blank content', { title: 'Blank', content: ' \n\n\t ' }, 'body.content'],
    ['missing title', { content: 'text' }, 'body.title'],
    ['unknown content type', { title: 'PDF', content: 'x', content_type: 'application/pdf' }, 'body.content_type'],
    ['bad conversation id', { title: 'T', content: 'x', conversation_id: 'nope' }, 'body.conversation_id'],
    ['unknown field', { title: 'T', content: 'x', tags: [] }, 'tags'],
  ])('%s → 400 naming the field', async (_name, body, field) => {
    const before = [await count('documents'), await count('embeddings')];
    const res = await post(alice, body);
    expect(res.status).toBe(400);
    const err = await res.json() as { error: { code: string; message: string } };
    expect(err.error.code).toBe('invalid_request');
    expect(err.error.message).toContain(field);
    expect([await count('documents'), await count('embeddings')]).toEqual(before);
  });

  it('content over DOCUMENT_MAX_BYTES → 413 naming the limit', async () => {
    const before = await count('documents');
    const res = await post(alice, { title: 'Huge', content: 'é'.repeat(MAX / 2 + 1) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: `body.content is ${MAX + 2} bytes; documents may have at most ${MAX} (DOCUMENT_MAX_BYTES)` } });
    expect(await count('documents')).toBe(before);
  });

  it('a large document just under the limit is chunked into many pieces', async () => {
    const para = readFileSync(path.join(CORPUS, 'marathon-training.md'), 'utf8');
    let content = '';
    while (Buffer.byteLength(content + para) + 2 < MAX) content += `${para}\n\n`;
    const res = await post(alice, { title: 'Long', content, content_type: 'text/markdown' });
    expect(res.status).toBe(201);
    const doc = await res.json() as { id: string; chunk_count: number };
    expect(doc.chunk_count).toBeGreaterThan(50);
    expect((await api(alice, `/${doc.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('search without q → 400', async () => {
    const res = await api(alice, '/search?q=');
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('query.q');
  });
});

describe('search quality on the fixture corpus', () => {
  const queries: [string, string][] = [
    ['how do I reset the router admin password', 'router-setup.md'],
    ['what is the wifi key', 'router-setup.md'],
    ['how long should I bake the bread', 'sourdough.md'],
    ['feeding my starter', 'sourdough.md'],
    ['why is my pod removed from service endpoints', 'kubernetes-probes.md'],
    ['when is the container restarted by the kubelet', 'kubernetes-probes.md'],
    ['penalty for filing taxes late', 'tax-deadlines.txt'],
    ['how long to keep receipts', 'tax-deadlines.txt'],
    ['how much should I taper before the race', 'marathon-training.md'],
    ['longest long run distance in kilometres', 'marathon-training.md'],
    ['my plant has yellow leaves', 'houseplants.txt'],
    ['how often to water a succulent', 'houseplants.txt'],
  ];
  let carol: string;

  beforeAll(async () => {
    carol = await token('carol');
    for (const f of readdirSync(CORPUS).filter((n) => n !== 'README.md')) {
      const res = await post(carol, { title: f, content: readFileSync(path.join(CORPUS, f), 'utf8'), content_type: f.endsWith('.md') ? 'text/markdown' : 'text/plain' });
      expect(res.status).toBe(201);
    }
  });

  it.each(queries)('“%s” → %s first', async (q, expected) => {
    const res = await api(carol, `/search?q=${encodeURIComponent(q)}&limit=3`);
    expect(res.status).toBe(200);
    const body = await res.json() as { hits: { title: string; score: number; snippet: string }[] };
    expect(body.hits[0]?.title).toBe(expected);
    expect(body.hits.map((h) => h.score)).toEqual([...body.hits.map((h) => h.score)].sort((a, b) => b - a));
  });
});

describe('vector search path', () => {
  it('uses pgvector only when the database offers it; this one is checked and logged', async () => {
    const available = await vectorExtensionAvailable(tdb.db);
    const expected = chooseVectorMode(available, available);
    const line = s.lines.find((l) => l.includes('"msg":"document search ready"'));
    expect(JSON.parse(line!)).toMatchObject({ vector_mode: expected, embedding_model: 'builtin-hash-1024' });
    expect(chooseVectorMode(false, false)).toBe('array');
    expect(chooseVectorMode(true, false)).toBe('array');
    expect(chooseVectorMode(true, true)).toBe('pgvector');
  });
});
