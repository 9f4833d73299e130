// The response cache around one model call. A hit replays the stored model events; a miss runs
// the real call and stores what it streamed once it completed (never a failed or cancelled
// call). Identical requests in flight at once on this replica share the first one's result.
// Settings per model come from cache_config, with defaults for models without a row.
import type { CacheSettings, CacheStore as Store, StoredResponse as Stored } from '../../core/cache.js';
import type { ModelEvent } from '../openai/chunks.js';
import { CancelledError } from '../openai/http-stream.js';
import { cacheKey, normaliseRequest } from './key.js';
import { CacheCounts } from './counts.js';
import { Recording } from './recording.js';
import type { CacheCall, ModelCallCache } from './types.js';

type StoredResponse = Stored<ModelEvent>;
// What the cache needs from storage: the port in core/cache.ts, bound to SQL in db/cache-store.ts.
export type CacheStore = Store<ModelEvent>;

export interface ResponseCacheOptions {
  store: CacheStore;
  defaults: CacheSettings;
  metrics?: { llmCacheRequests: { inc(labels: { result: string }): void } };
  // storage problems must not fail a run: the call goes to the model instead
  onError(err: unknown, what: string): void;
  // how often the hit and miss counts are written (default 1000 ms)
  countIntervalMs?: number;
}

const MAX_QUERY_TEXT = 500;

export class ResponseCache implements ModelCallCache {
  private readonly inflight = new Map<string, Promise<StoredResponse | undefined>>();
  // saves per model since its entries were last trimmed to its bound (one entry per model)
  private readonly sinceTrim = new Map<string, number>();
  private readonly counts: CacheCounts;

  constructor(private readonly o: ResponseCacheOptions) {
    this.counts = new CacheCounts((model, c) => o.store.count(model, c), o.countIntervalMs ?? 1000, (err) => o.onError(err, 'count'));
  }

  // Writes the counts not yet written (tests, and shutdown through close()).
  flushCounts(): Promise<void> {
    return this.counts.flush();
  }

  close(): Promise<void> {
    return this.counts.close();
  }

  async call(
    request: { model: string; provider: string; endpoint?: string; body: Record<string, unknown>; queryText: string },
    real: () => AsyncIterable<ModelEvent>,
    signal: AbortSignal,
  ): Promise<CacheCall> {
    const settings = await this.settings(request.model);
    if (!settings.enabled) {
      this.o.metrics?.llmCacheRequests.inc({ result: 'bypass' });
      return { result: 'bypass', events: real() };
    }
    const normalised = normaliseRequest(request.provider, request.body, request.endpoint);
    const key = cacheKey(normalised);

    // Register before the first await, so an identical request arriving meanwhile waits for us.
    const leader = this.inflight.get(key);
    let settle: ((r: StoredResponse | undefined) => void) | undefined;
    if (!leader) this.inflight.set(key, new Promise((r) => { settle = r; }));
    const found = leader ? await orAbort(leader, signal) : await this.guard(() => this.o.store.take(key), 'lookup');
    if (found) {
      if (settle) {
        this.inflight.delete(key);
        settle(found);
      }
      this.o.metrics?.llmCacheRequests.inc({ result: 'hit' });
      this.counts.add(request.model, { hits: 1, misses: 0, tokensSaved: found.promptTokens + found.completionTokens });
      return { result: 'hit', events: found.events };
    }

    // A follower whose leader failed makes its own call, without taking the lead.
    this.o.metrics?.llmCacheRequests.inc({ result: 'miss' });
    this.counts.add(request.model, { hits: 0, misses: 1, tokensSaved: 0 });
    return { result: 'miss', events: this.record(request, real, { key, normalised, settings, settle }) };
  }

  // The real call's events as they stream, stored once the call completed. The caller reads
  // it at once: a miss that is never read would leave its followers waiting.
  private record(
    request: { model: string; provider: string; queryText: string },
    real: () => AsyncIterable<ModelEvent>,
    o: { key: string; normalised: ReturnType<typeof normaliseRequest>; settings: CacheSettings; settle: ((r: StoredResponse | undefined) => void) | undefined },
  ): AsyncIterable<ModelEvent> {
    const { key, settle } = o;
    return new Recording(real, async (events, completed) => {
      const response = completed ? toStored(events) : undefined;
      // Waiting followers get the response at once; the entry stays until the save is done,
      // or an identical request arriving meanwhile would find neither it nor the stored row
      // and call the model again.
      settle?.(response);
      try {
        if (response) {
          const responseText = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
          await this.guard(() => this.o.store.save({
            key, model: request.model, provider: request.provider, request: o.normalised,
            queryText: request.queryText.slice(0, MAX_QUERY_TEXT), response, responseText,
          }, o.settings), 'save');
          await this.trimNowAndThen(request.model, o.settings.maxEntries);
        }
      } finally {
        if (settle) this.inflight.delete(key);
      }
    });
  }

  // Trimming walks maxEntries index entries; after every tenth of maxEntries saves it costs
  // a constant per save, and a model holds up to 10 % more entries than its bound (per
  // replica) until the next trim.
  private async trimNowAndThen(model: string, maxEntries: number): Promise<void> {
    const n = (this.sinceTrim.get(model) ?? 0) + 1;
    if (n < Math.max(1, Math.floor(maxEntries / 10))) return void this.sinceTrim.set(model, n);
    this.sinceTrim.set(model, 0);
    await this.guard(() => this.o.store.trim(model, maxEntries), 'trim');
  }

  private async settings(model: string): Promise<CacheSettings> {
    return (await this.guard(() => this.o.store.settings(model), 'settings')) ?? this.o.defaults;
  }

  private async guard<T>(f: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await f();
    } catch (err) {
      this.o.onError(err, what);
      return undefined;
    }
  }
}

// A follower cancelled while the leader still streams stops waiting at once.
function orAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function toStored(events: ModelEvent[]): StoredResponse {
  const usage = [...events].reverse().find((e) => e.type === 'usage');
  return {
    events,
    promptTokens: usage?.type === 'usage' ? usage.prompt_tokens : 0,
    completionTokens: usage?.type === 'usage' ? usage.completion_tokens : 0,
  };
}
