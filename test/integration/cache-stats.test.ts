// The response cache through the running server: a repeated question is answered from the
// cache (cached: true in response.completed), GET /api/v1/cache/stats shows it to admins only,
// /api/v1/cache/config changes a model's settings for the next request, and the metrics port
// counts it. The model is the local fake server (fixture: text.sse).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fixtures/openai/fake-server.js';

let fake: FakeOpenAi;
let alice: string;

beforeAll(async () => {
  fake = await startFakeOpenAi();
});

afterAll(async () => {
  await fake?.close();
});

const { s, tdb } = useServer('cache-stats', () => ({
  LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.url, LLM_MODEL: 'local-model',
  ADMIN_CLAIM: 'chat_roles', ADMIN_ROLE: 'ops',
}), 'cachestats');

beforeAll(async () => {
  alice = await token('alice');
});

async function ask(question: string) {
  const conv = await createConversation(s.url, alice);
  const { sock } = await connectReady(s.url, conv, alice);
  sock.send({ type: 'message', client_msg_id: randomUUID(), content: question });
  const done = await sock.type('response.completed', 0, 15_000);
  sock.close();
  return done;
}

const stats = async (tok: string, query = '') => fetch(`${s.url}/api/v1/cache/stats${query}`, { headers: bearer(tok) });

describe('response cache in the server', () => {
  it('answers a repeated question from the cache', async () => {
    const first = await ask('What does the cache do?');
    const second = await ask('What does the cache do?');
    expect(first).toMatchObject({ cached: false, content: 'Hello! How can I help you today?' });
    expect(second).toMatchObject({ cached: true, content: first.content, usage: first.usage });
    expect(fake.received).toHaveLength(1);
    const [row] = await tdb.db.sql<{ metadata: { cached: boolean } }[]>`SELECT metadata FROM messages WHERE run_id = ${second.run_id}`;
    expect(row!.metadata.cached).toBe(true);
  });

  it('GET /api/v1/cache/stats: admins see the counts', async () => {
    const admin = await token('root', { claims: { chat_roles: ['viewer', 'ops'] } });
    // hits and misses are written once a second, off the model call's path
    let body = { by_model: [] as unknown[], top_queries: [] as unknown[], daily: [] as unknown[] };
    await expect.poll(async () => {
      const res = await stats(admin, '?days=7&top=5');
      expect(res.status).toBe(200);
      body = await res.json() as typeof body;
      return body.by_model;
    }, { timeout: 10_000 }).toEqual([expect.objectContaining({ hits: 1, misses: 1 })]);
    expect(body.by_model).toEqual([{ model: 'local-model', hits: 1, misses: 1, tokens_saved: 29, hit_ratio: 0.5, live_entries: 1 }]);
    expect(body.top_queries).toEqual([expect.objectContaining({ model: 'local-model', query_text: 'What does the cache do?', hit_count: 1 })]);
    expect(body.daily).toEqual([{ day: new Date().toISOString().slice(0, 10), model: 'local-model', hits: 1, misses: 1, tokens_saved: 29 }]);
  });

  it('403 without the admin claim, 401 without a token, 400 on a bad query', async () => {
    const res = await stats(alice);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: { code: 'forbidden', message: 'cache statistics need the "ops" role in the "chat_roles" claim' } });
    expect((await stats(await token('bob', { claims: { chat_roles: 'viewer' } }))).status).toBe(403);
    expect((await fetch(`${s.url}/api/v1/cache/stats`)).status).toBe(401);
    const bad = await stats(await token('root', { claims: { chat_roles: 'ops' } }), '?days=0');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('query.days');
  });

  it('exports the cache and model metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    expect(text).toMatch(/chat_llm_cache_requests_total\{result="hit"\} 1/);
    expect(text).toMatch(/chat_llm_cache_requests_total\{result="miss"\} 1/);
    expect(text).toMatch(/chat_llm_request_duration_seconds_count\{provider="openai",outcome="ok"\} 1/);
    expect(text).toMatch(/chat_llm_tokens_total\{kind="prompt"\} 19/);
    expect(text).toMatch(/chat_llm_tokens_total\{kind="saved"\} 29/);
  });
});

describe('per-model settings through /api/v1/cache/config', () => {
  const config = (tok: string, init: RequestInit = {}, query = '') => fetch(`${s.url}/api/v1/cache/config${query}`, {
    ...init, headers: { ...bearer(tok), ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  const rows = () => tdb.db.sql<{ model: string; enabled: boolean }[]>`SELECT model, enabled FROM cache_config ORDER BY model`;

  it('switches a model off for the next request, lists it, and hands it back to the defaults', async () => {
    const admin = await token('root', { claims: { chat_roles: 'ops' } });
    const put = await config(admin, { method: 'PUT', body: JSON.stringify({ model: 'local-model', enabled: false, ttl_seconds: 60, max_entries: 5 }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ model: 'local-model', enabled: false, ttl_seconds: 60, max_entries: 5 });

    const calls = fake.received.length;
    expect(await ask('What does the cache do?')).toMatchObject({ cached: false }); // was a hit before
    expect(fake.received.length).toBe(calls + 1);

    const list = await (await config(admin)).json() as { defaults: unknown; models: { model: string }[] };
    expect(list.defaults).toEqual({ enabled: true, ttl_seconds: 86400, max_entries: 10000 }); // CACHE_* defaults
    expect(list.models).toEqual([expect.objectContaining({ model: 'local-model', enabled: false, ttl_seconds: 60, max_entries: 5 })]);

    expect((await config(admin, { method: 'DELETE' }, '?model=local-model')).status).toBe(204);
    expect(await ask('What does the cache do?')).toMatchObject({ cached: true });
    expect(fake.received.length).toBe(calls + 1);
    const again = await config(admin, { method: 'DELETE' }, '?model=local-model');
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'cache_config_not_found', message: 'model "local-model" has no cache settings of its own' } });
  });

  it('refuses non-admins (403) and bad settings (400 naming the field), changing nothing', async () => {
    const admin = await token('root', { claims: { chat_roles: 'ops' } });
    const before = await rows();
    const forbidden = await config(alice, { method: 'PUT', body: JSON.stringify({ model: 'm', enabled: false, ttl_seconds: 60, max_entries: 5 }) });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ error: { code: 'forbidden', message: 'cache settings need the "ops" role in the "chat_roles" claim' } });
    expect((await config(alice)).status).toBe(403);
    expect((await config(alice, { method: 'DELETE' }, '?model=m')).status).toBe(403);
    for (const [body, field] of [
      [{ model: 'm', enabled: 'no', ttl_seconds: 60, max_entries: 5 }, 'body.enabled'],
      [{ model: 'm', enabled: true, ttl_seconds: 0, max_entries: 5 }, 'body.ttl_seconds'],
      [{ model: ' ', enabled: true, ttl_seconds: 60, max_entries: 5 }, 'body.model'],
      [{ model: 'm', enabled: true, ttl_seconds: 60 }, 'body.max_entries'],
      [{ model: 'm', enabled: true, ttl_seconds: 60, max_entries: 5, extra: 1 }, 'extra'],
    ] as const) {
      const res = await config(admin, { method: 'PUT', body: JSON.stringify(body) });
      expect(res.status, field).toBe(400);
      expect((await res.json() as { error: { message: string } }).error.message).toContain(field);
    }
    expect((await config(admin, { method: 'DELETE' })).status).toBe(400); // no ?model=
    expect(await rows()).toEqual(before);
  });
});
