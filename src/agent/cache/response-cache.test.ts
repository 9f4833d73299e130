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
    const first = cache.call(request, real, signal)[Symbol.asyncIterator]();
    const firstEvents: unknown[] = [];
    // Read the first call to its last event: the model is done, its save is still waiting.
    for (let i = 0; i < 3; i++) firstEvents.push((await first.next()).value);
    expect(firstEvents[0]).toEqual({ type: 'cache', result: 'miss' });
    const rest = first.next(); // runs the finally: settle, then the (blocked) save
    const second: unknown[] = [];
    for await (const ev of cache.call(request, real, signal)) second.push(ev);
    release();
    await rest;
    expect(modelCalls).toBe(1);
    expect(second).toEqual([{ type: 'cache', result: 'hit' }, { type: 'text', text: 'hello' }, { type: 'usage', prompt_tokens: 1, completion_tokens: 1 }]);
  });
});
