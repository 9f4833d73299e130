// EMBEDDINGS_PROVIDER=openai: documents are embedded by an OpenAI-compatible /v1/embeddings
// endpoint (the local fake server, answering in the shape of
// https://platform.openai.com/docs/api-reference/embeddings/create: data[].{index, embedding}),
// and a failing endpoint stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashEmbed } from '../../src/agent/embeddings/hashing.js';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';
import { startFakeOpenAi, type FakeOpenAi, type Received, type Reply } from '../fixtures/openai/fake-server.js';

const KEY = 'sk-embeddings-secret';
let fake: FakeOpenAi;
let alice: string;

// Answers with vectors in reverse index order, as servers may: the client must sort by index.
function embeddings(req: Received): Reply {
  const input = req.body.input as string[];
  const data = input.map((t, index) => ({ object: 'embedding', index, embedding: hashEmbed(t, 256) })).reverse();
  return { kind: 'json', body: { object: 'list', data, model: req.body.model, usage: { prompt_tokens: 5, total_tokens: 5 } } };
}

beforeAll(async () => {
  fake = await startFakeOpenAi();
  fake.fallback = embeddings;
});

afterAll(async () => {
  await fake?.close();
});

const { s, tdb } = useServer('documents-embeddings', () => ({
  EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_BASE_URL: fake.url, EMBEDDINGS_API_KEY: KEY, EMBEDDINGS_MODEL: 'text-embedding-3-small',
  // a timeout well above a loaded CI machine's stalls, so only the scripted hangs time out
  EMBEDDINGS_MAX_RETRIES: '2', EMBEDDINGS_TIMEOUT_MS: '1500', LLM_RETRY_BASE_MS: '20',
}), 'docsemb');

beforeAll(async () => {
  alice = await token('alice');
});

const post = (body: unknown) => fetch(`${s.url}/api/v1/documents`, { method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('OpenAI-compatible embeddings', () => {
  it('embeds the chunks through /v1/embeddings and searches with the same model', async () => {
    const content = 'Reset the router by holding its button.\n\nBake sourdough bread at 250 degrees.';
    const res = await post({ title: 'Mixed', content });
    expect(res.status).toBe(201);
    const req = fake.received.at(-1)!;
    expect(req.path).toBe('/v1/embeddings');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.body).toEqual({ model: 'text-embedding-3-small', input: ['Reset the router by holding its button.\n\nBake sourdough bread at 250 degrees.'] });
    const rows = await tdb.db.sql<{ model: string; dims: number; embedding: number[] }[]>`SELECT model, dims, embedding FROM embeddings`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model: 'text-embedding-3-small', dims: 256 });
    expect(rows[0]!.embedding[0]).toBeCloseTo(hashEmbed(content, 256)[0]!, 5);
    const search = await fetch(`${s.url}/api/v1/documents/search?q=reset%20router%20button`, { headers: bearer(alice) });
    expect((await search.json() as { hits: { title: string }[] }).hits[0]?.title).toBe('Mixed');
    expect(s.lines.join('\n')).not.toContain(KEY);
  });

  it('retries a busy endpoint (5xx, 429 with Retry-After, a hung request) and stores the document once it answers', async () => {
    const before = fake.received.length;
    fake.script(
      { kind: 'status', status: 503, body: '{"error":{"message":"overloaded"}}' },
      { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: '{"error":{"message":"slow down"}}' },
    );
    const res = await post({ title: 'Patient', content: 'Stored after two refusals.' });
    expect(res.status).toBe(201);
    expect(fake.received.length - before).toBe(3);
    fake.script({ kind: 'hang' });
    const hung = await post({ title: 'After a hang', content: 'Stored after one timeout.' });
    expect(hung.status).toBe(201);
    const titles = (await tdb.db.sql<{ title: string }[]>`SELECT title FROM documents`).map((r) => r.title);
    expect(titles).toEqual(expect.arrayContaining(['Patient', 'After a hang']));
  });

  it('a failing endpoint → 503 naming the embeddings server once the retries are spent, nothing stored', async () => {
    const before = (await tdb.db.sql`SELECT id FROM documents`).length;
    const sent = fake.received.length;
    const boom = { kind: 'status', status: 500, body: '{"error":{"message":"boom"}}' } as const;
    fake.script(boom, boom, boom);
    const res = await post({ title: 'Lost', content: 'Some text.' });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: 'document not stored: the embeddings server answered HTTP 500' } });
    expect(fake.received.length - sent).toBe(3); // the first try and EMBEDDINGS_MAX_RETRIES=2
    fake.script({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
    const timedOut = await post({ title: 'Lost', content: 'Some text.' });
    expect(timedOut.status).toBe(503);
    expect((await timedOut.json() as { error: { message: string } }).error.message).toBe('document not stored: the embeddings server did not answer within 1500 ms');
    expect((await tdb.db.sql`SELECT id FROM documents`).length).toBe(before);
  });

  it('does not retry what another attempt cannot fix (a bad key, a malformed answer)', async () => {
    const sent = fake.received.length;
    fake.script({ kind: 'status', status: 401, body: '{"error":{"message":"bad key sk-embeddings-secret"}}' });
    const res = await post({ title: 'Lost', content: 'Some text.' });
    expect(res.status).toBe(503);
    expect((await res.json() as { error: { message: string } }).error.message).toBe('document not stored: the embeddings server refused the API key (HTTP 401)');
    fake.script({ kind: 'json', body: { data: [] } });
    const res2 = await post({ title: 'Lost', content: 'Some text.' });
    expect(res2.status).toBe(503);
    expect((await res2.json() as { error: { message: string } }).error.message).toBe('document not stored: the embeddings server sent a response without one vector per input');
    expect(fake.received.length - sent).toBe(2);
    expect((await tdb.db.sql`SELECT title FROM documents WHERE title = 'Lost'`).length).toBe(0);
    expect(s.lines.join('\n')).not.toContain(KEY); // the server's 401 text quoted it
  });
});
