import { describe, expect, it } from 'vitest';
import type { ModelEvent } from '../openai/chunks.js';
import type { StoredResponse as Stored } from '../../core/cache.js';
import { ResponseCache, type CacheStore } from './response-cache.js';

type StoredResponse = Stored<ModelEvent>;

// An in-memory store whose first save waits until the test lets it finish.
function slowSaveStore() {
  let saves = 0;
  const rows = new Map<string, StoredResponse>();
  let release!: () => void;
  const saved = new Promise<void>((r) => { release = r; });
  const store: CacheStore = {
    settings: async () => ({ enabled: true, ttlSeconds: 60, maxEntries: 10 }),
    take: async (key) => rows.get(key),
    save: async (e) => {
      if (saves++ === 0) await saved;
      rows.set(e.key, e.response);
    },
    count: async () => undefined,
    trim: async () => undefined,
  };
  return { store, release };
}

const request = { model: 'm', provider: 'openai', body: { messages: [{ role: 'user', content: 'same' }] }, queryText: 'same' };

describe('the response cache between a call that completed and its stored row', () => {
  it('answers an identical request from the completed call, without calling the model again', async () => {
    const { store, release } = slowSaveStore();
    const cache = new ResponseCache({ store, defaults: { enabled: true, ttlSeconds: 60, maxEntries: 10 }, onError: (err) => { throw err; } });
    let modelCalls = 0;
    const real = async function* (): AsyncGenerator<ModelEvent> {
      modelCalls++;
      yield { type: 'text', text: 'hello' };
      yield { type: 'usage', prompt_tokens: 1, completion_tokens: 1 };
    };
    const signal = new AbortController().signal;
    const call = await cache.call(request, real, signal);
    expect(call.result).toBe('miss');
    const first = (call.events as AsyncIterable<ModelEvent>)[Symbol.asyncIterator]();
    // Read the first call to its last event: the model is done, its save is still waiting.
    for (let i = 0; i < 2; i++) await first.next();
    const rest = first.next(); // runs the finally: settle, then the (blocked) save
    const again = await cache.call(request, real, signal);
    const second: unknown[] = [];
    for await (const ev of again.events) second.push(ev);
    release();
    await rest;
    expect(modelCalls).toBe(1);
    expect(again.result).toBe('hit');
    expect(second).toEqual([{ type: 'text', text: 'hello' }, { type: 'usage', prompt_tokens: 1, completion_tokens: 1 }]);
  });
});

describe('counting hits and misses', () => {
  it('never holds a call: the counts are written later, even when writing them hangs', async () => {
    const rows = new Map<string, StoredResponse>();
    let writes = 0;
    const store: CacheStore = {
      settings: async () => ({ enabled: true, ttlSeconds: 60, maxEntries: 10 }),
      take: async (key) => rows.get(key),
      save: async (e) => void rows.set(e.key, e.response),
      // the analytics row is locked by others: this write does not return
      count: () => { writes++; return new Promise<void>(() => undefined); },
      trim: async () => undefined,
    };
    const cache = new ResponseCache({ store, defaults: { enabled: true, ttlSeconds: 60, maxEntries: 10 }, onError: (err) => { throw err; }, countIntervalMs: 60_000 });
    const real = async function* (): AsyncGenerator<ModelEvent> {
      yield { type: 'text', text: 'hi' };
    };
    const signal = new AbortController().signal;
    const miss = await cache.call(request, real, signal);
    for await (const ev of miss.events) void ev;
    const hit = await cache.call(request, real, signal);
    expect([miss.result, hit.result]).toEqual(['miss', 'hit']);
    expect(writes).toBe(0);
    void cache.flushCounts();
    expect(writes).toBe(1); // both calls' counts in one write
  });
});

describe('keeping a model to its bound', () => {
  const storeWith = (maxEntries: number, trims: number[]) => {
    let saves = 0;
    const store: CacheStore = {
      settings: async () => ({ enabled: true, ttlSeconds: 60, maxEntries }),
      take: async () => undefined,
      save: async () => void saves++,
      count: async () => undefined,
      trim: async (_model, max) => { expect(max).toBe(maxEntries); trims.push(saves); },
    };
    return store;
  };
  const answer = async function* (): AsyncGenerator<ModelEvent> {
    yield { type: 'text', text: 'a' };
  };
  const ask = async (cache: ResponseCache, q: string) => {
    const call = await cache.call({ ...request, body: { messages: [{ role: 'user', content: q }] }, queryText: q }, answer, new AbortController().signal);
    for await (const ev of call.events) void ev;
  };

  it('trims after every tenth of the bound in saves, not after each (a trim walks the bound\'s worth of entries)', async () => {
    const trims: number[] = [];
    const cache = new ResponseCache({ store: storeWith(100, trims), defaults: { enabled: true, ttlSeconds: 60, maxEntries: 100 }, onError: (err) => { throw err; } });
    for (let i = 0; i < 25; i++) await ask(cache, `q${i}`);
    expect(trims).toEqual([10, 20]);
  });

  it('trims after every save when the bound is under ten', async () => {
    const trims: number[] = [];
    const cache = new ResponseCache({ store: storeWith(2, trims), defaults: { enabled: true, ttlSeconds: 60, maxEntries: 2 }, onError: (err) => { throw err; } });
    for (let i = 0; i < 3; i++) await ask(cache, `q${i}`);
    expect(trims).toEqual([1, 2, 3]);
  });
});
