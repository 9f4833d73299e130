// Binds the cache queries to the core's ports: the response cache's store and its
// administration (stats, per-model settings, the expiry purge).
import type { CacheAdminStore, CacheStore, ModelCacheSettings } from '../core/cache.js';
import type { Db } from './client.js';
import {
  cacheSettings, cacheStats, countCacheRequest, deleteCacheSettings, listCacheSettings, purgeExpiredCache, saveCacheEntry, trimCacheEntries,
  takeCacheEntry, upsertCacheSettings, type ModelCacheSettingsRow,
} from './cache.js';

// E: the agent's model event type; the rows hold them as JSON.
export function responseCacheStore<E>(db: Db): CacheStore<E> {
  return {
    settings: async (model) => {
      const r = await cacheSettings(db, model);
      return r && { enabled: r.enabled, ttlSeconds: r.ttl_seconds, maxEntries: r.max_entries };
    },
    take: async (key) => {
      const r = await takeCacheEntry(db, key);
      return r && { events: r.events as E[], promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens };
    },
    save: (e, s) => saveCacheEntry(db, {
      key: e.key, model: e.model, provider: e.provider, request: e.request, queryText: e.queryText, events: e.response.events,
      responseText: e.responseText, promptTokens: e.response.promptTokens, completionTokens: e.response.completionTokens,
    }, s.ttlSeconds),
    trim: (model, maxEntries) => trimCacheEntries(db, model, maxEntries),
    count: (model, c) => countCacheRequest(db, model, c),
  };
}

const modelSettings = (r: ModelCacheSettingsRow): ModelCacheSettings => ({
  model: r.model, enabled: r.enabled, ttlSeconds: r.ttl_seconds, maxEntries: r.max_entries, updatedAt: r.updated_at,
});

export function cacheAdminStore(db: Db): CacheAdminStore {
  return {
    stats: (days, top) => cacheStats(db, days, top),
    listSettings: async () => (await listCacheSettings(db)).map(modelSettings),
    putSettings: async (model, s) => modelSettings(await upsertCacheSettings(db, model, { enabled: s.enabled, ttl_seconds: s.ttlSeconds, max_entries: s.maxEntries })),
    deleteSettings: (model) => deleteCacheSettings(db, model),
    purgeExpired: () => purgeExpiredCache(db),
  };
}
