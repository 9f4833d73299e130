// The response cache on a real PostgreSQL, in front of the OpenAI provider talking to the local
// fake server (fixtures: text.sse, tool-calls-parallel.sse, after-tools.sse, error-midstream.sse
// — their sources are in test/integration/llm-provider.test.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/agent/cache/response-cache.js';
import { OpenAiAgent } from '../../src/agent/openai/agent.js';
import { builtinTools } from '../../src/agent/tools/registry.js';
import type { AgentContext, AgentEvent } from '../../src/core/agent.js';
import { cacheStats, purgeExpiredCache, upsertCacheSettings } from '../../src/db/cache.js';
import { responseCacheStore } from '../../src/db/cache-store.js';
import type { Db } from '../../src/db/client.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fixtures/openai/fake-server.js';

let tdb: TestDatabase & { db: Db };
let fake: FakeOpenAi;
const metrics = createMetrics();
const storageErrors: string[] = [];

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createMigratedDatabase('cache'), startFakeOpenAi()]);
});
afterAll(async () => {
  await cache?.close();
  await fake?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  fake.received.length = 0;
  // counts of the previous test are written now, not into this one's empty tables
  await cache?.flushCounts();
  await tdb.db.sql`TRUNCATE llm_response_cache, cache_config, cache_analytics`;
});

// One cache per server process, as in production: concurrent runs share its in-flight map.
let cache: ResponseCache | undefined;

function agent(model = 'gpt-4o-mini'): OpenAiAgent {
  cache ??= new ResponseCache({
    store: responseCacheStore(tdb.db), defaults: { enabled: true, ttlSeconds: 3600, maxEntries: 100 }, metrics,
    onError: (_e, what) => storageErrors.push(what),
  });
  return new OpenAiAgent({
    baseUrl: fake.url, apiKey: undefined, model, maxSteps: 4, tools: builtinTools, cache, metrics,
    timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs: 2000 }, maxRetries: 0, retryBaseMs: 10,
  });
}

const ctx = (signal = new AbortController().signal): AgentContext => ({
  conversationId: 'c', userId: 'u', runId: 'r', signal, now: () => new Date('2024-05-01T12:00:00Z'), searchConversation: async () => [],
});

async function run(a: OpenAiAgent, question: string, signal?: AbortSignal): Promise<{ events: AgentEvent[]; error?: unknown }> {
  const events: AgentEvent[] = [];
  try {
    for await (const ev of a.run([{ role: 'user', content: question }], ctx(signal))) events.push(ev);
  } catch (error) {
    return { events, error };
  }
  return { events };
}

const usage = (evs: AgentEvent[]) => evs.find((e) => e.type === 'usage');
const withoutUsage = (evs: AgentEvent[]) => evs.filter((e) => e.type !== 'usage' && e.type !== 'tool_result');

describe('response cache', () => {
  it('a miss stores the response; an identical request replays it with cached: true and no model call', async () => {
    const first = await run(agent(), 'hello');
    expect(usage(first.events)).toMatchObject({ cached: false });
    expect(fake.received).toHaveLength(1);
    const second = await run(agent(), '  hello ');
    expect(fake.received).toHaveLength(1);
    expect(withoutUsage(second.events)).toEqual(withoutUsage(first.events));
    expect(usage(second.events)).toEqual({ type: 'usage', prompt_tokens: 19, completion_tokens: 10, cached: true });
    const [row] = await tdb.db.sql<{ hit_count: string; response_text: string; query_text: string; model: string }[]>`SELECT hit_count, response_text, query_text, model FROM llm_response_cache`;
    expect(row).toEqual({ hit_count: '1', response_text: 'Hello! How can I help you today?', query_text: 'hello', model: 'gpt-4o-mini' });
  });

  it('caches each step of a tool-calling run; tools still run on replay', async () => {
    fake.script({ kind: 'sse', file: 'tool-calls-parallel.sse' }, { kind: 'sse', file: 'after-tools.sse' });
    const first = await run(agent(), 'what is 12*(3+4)?');
    expect(fake.received).toHaveLength(2);
    const second = await run(agent(), 'what is 12*(3+4)?');
    // the clock tool's result is the same (fixed now()), so the second step's request is identical too
    expect(fake.received).toHaveLength(2);
    expect(second.events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
    expect(usage(second.events)).toMatchObject({ cached: true, prompt_tokens: 310 });
    expect(usage(first.events)).toMatchObject({ cached: false });
  });

  it('never stores a failed or cancelled response', async () => {
    fake.script({ kind: 'sse', file: 'error-midstream.sse' });
    const failed = await run(agent(), 'fails');
    expect(failed.error).toBeDefined();
    fake.script({ kind: 'stall', file: 'text.sse', events: 3 });
    const ac = new AbortController();
    setTimeout(() => ac.abort('cancelled'), 200);
    await run(agent(), 'cancelled', ac.signal);
    expect(await tdb.db.sql`SELECT key FROM llm_response_cache`).toHaveLength(0);
    await cache!.flushCounts();
    const [a] = await tdb.db.sql<{ misses: string; hits: string }[]>`SELECT sum(misses)::text AS misses, sum(hits)::text AS hits FROM cache_analytics`;
    expect(a).toEqual({ misses: '2', hits: '0' });
  });

  it('concurrent identical requests compute once', async () => {
    fake.script({ kind: 'sse', file: 'text.sse', delayMs: 30 });
    const results = await Promise.all([run(agent(), 'same'), run(agent(), 'same'), run(agent(), 'same')]);
    expect(fake.received).toHaveLength(1);
    for (const r of results) expect(withoutUsage(r.events)).toEqual(withoutUsage(results[0]!.events));
    expect(results.map((r) => (usage(r.events) as { cached: boolean }).cached).sort()).toEqual([false, true, true]);
  });

  it('a waiting identical request that is cancelled stops at once; the leader still stores', async () => {
    fake.script({ kind: 'sse', file: 'text.sse', delayMs: 60 });
    const ac = new AbortController();
    const leader = run(agent(), 'wait for me');
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    setTimeout(() => ac.abort('cancelled'), 20);
    const follower = await run(agent(), 'wait for me', ac.signal);
    expect(Date.now() - t0).toBeLessThan(200);
    expect(follower.error).toBeUndefined();
    expect(follower.events.some((e) => e.type === 'usage')).toBe(false);
    expect(usage((await leader).events)).toMatchObject({ cached: false });
    expect(fake.received).toHaveLength(1);
    expect(await tdb.db.sql`SELECT key FROM llm_response_cache`).toHaveLength(1);
  });

  it('cache_config switches a model off (bypass), and bounds entries per model', async () => {
    await upsertCacheSettings(tdb.db, 'off-model', { enabled: false, ttl_seconds: 60, max_entries: 10 });
    await run(agent('off-model'), 'x');
    await run(agent('off-model'), 'x');
    expect(fake.received).toHaveLength(2);
    expect(await tdb.db.sql`SELECT key FROM llm_response_cache`).toHaveLength(0);

    await upsertCacheSettings(tdb.db, 'small', { enabled: true, ttl_seconds: 60, max_entries: 2 });
    for (const q of ['one', 'two', 'three']) await run(agent('small'), q);
    const left = await tdb.db.sql<{ query_text: string }[]>`SELECT query_text FROM llm_response_cache WHERE model = 'small' ORDER BY created_at`;
    expect(left.map((r) => r.query_text)).toEqual(['two', 'three']);
  });

  it('expired entries miss and are purged', async () => {
    await run(agent(), 'old');
    await tdb.db.sql`UPDATE llm_response_cache SET expires_at = now() - interval '1 second'`;
    const again = await run(agent(), 'old');
    expect(usage(again.events)).toMatchObject({ cached: false });
    expect(fake.received).toHaveLength(2);
    // the refreshed entry is live again; expire it and purge
    await tdb.db.sql`UPDATE llm_response_cache SET expires_at = now() - interval '1 second'`;
    expect(await purgeExpiredCache(tdb.db)).toBe(1);
    expect(await tdb.db.sql`SELECT key FROM llm_response_cache`).toHaveLength(0);
  });

  it('analytics: hits, misses and tokens saved per model per day, summarised by the views', async () => {
    await run(agent(), 'stats');
    await run(agent(), 'stats');
    await run(agent(), 'stats');
    await run(agent('other'), 'stats');
    await cache!.flushCounts();
    const stats = await cacheStats(tdb.db, 30, 10);
    expect(stats.by_model).toEqual([
      { model: 'gpt-4o-mini', hits: 2, misses: 1, tokens_saved: 58, hit_ratio: 2 / 3, live_entries: 1 },
      { model: 'other', hits: 0, misses: 1, tokens_saved: 0, hit_ratio: 0, live_entries: 1 },
    ]);
    expect(stats.top_queries[0]).toMatchObject({ model: 'gpt-4o-mini', query_text: 'stats', hit_count: 2, tokens_saved: 20 });
    expect(stats.daily).toEqual([
      { day: new Date().toISOString().slice(0, 10), model: 'gpt-4o-mini', hits: 2, misses: 1, tokens_saved: 58 },
      { day: new Date().toISOString().slice(0, 10), model: 'other', hits: 0, misses: 1, tokens_saved: 0 },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/chat_llm_cache_requests_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/chat_llm_tokens_total\{kind="saved"\} [1-9]/);
    expect(text).toMatch(/chat_llm_request_duration_seconds_count\{provider="openai",outcome="ok"\} [1-9]/);
    expect(storageErrors).toEqual([]);
  });
});
