// The ports of the LLM response cache (bound by db/cache-store.ts): what the cache itself needs
// from storage (agent/cache/response-cache.ts), and what its administration needs (the
// /api/v1/cache routes and the expiry purge).

export interface CacheSettings {
  enabled: boolean;
  ttlSeconds: number;
  maxEntries: number;
}

export interface ModelCacheSettings extends CacheSettings {
  model: string;
  updatedAt: Date;
}

// E: the model events of one call, stored as JSON; their type belongs to the agent.
export interface StoredResponse<E = unknown> {
  events: E[];
  promptTokens: number;
  completionTokens: number;
}

export interface NewCacheEntry<E = unknown> {
  key: string;
  model: string;
  provider: string;
  request: Record<string, unknown>;
  queryText: string;
  response: StoredResponse<E>;
  responseText: string;
}

export interface CacheStore<E = unknown> {
  settings(model: string): Promise<CacheSettings | undefined>;
  // a live entry, counted as a hit
  take(key: string): Promise<StoredResponse<E> | undefined>;
  save(e: NewCacheEntry<E>, s: CacheSettings): Promise<void>;
  // drops the model's oldest entries past maxEntries
  trim(model: string, maxEntries: number): Promise<void>;
  count(model: string, c: { hits: number; misses: number; tokensSaved: number }): Promise<void>;
}

export interface CacheStats {
  by_model: { model: string; hits: number; misses: number; tokens_saved: number; hit_ratio: number; live_entries: number }[];
  top_queries: { model: string; query_text: string; hit_count: number; tokens_saved: number; created_at: Date; last_hit_at: Date | null; expires_at: Date }[];
  daily: { day: string; model: string; hits: number; misses: number; tokens_saved: number }[];
}

export interface CacheAdminStore {
  stats(days: number, top: number): Promise<CacheStats>;
  listSettings(): Promise<ModelCacheSettings[]>;
  putSettings(model: string, s: CacheSettings): Promise<ModelCacheSettings>;
  // false: the model had no settings of its own
  deleteSettings(model: string): Promise<boolean>;
  // removes expired entries; returns how many
  purgeExpired(): Promise<number>;
}
