// Queries behind the LLM response cache: per-model settings (cache_config), entries
// (llm_response_cache) with their size bound and expiry, and per-day counts (cache_analytics)
// that the cache_by_model and top_cached_queries views summarise.
import type { CacheStats } from '../core/cache.js';
import type { Db } from './client.js';

export interface CacheSettingsRow {
  enabled: boolean;
  ttl_seconds: number;
  max_entries: number;
}

export async function cacheSettings(db: Db, model: string): Promise<CacheSettingsRow | undefined> {
  const rows = await db.timed('cache.settings', (sql) => sql<CacheSettingsRow[]>`
    SELECT enabled, ttl_seconds, max_entries FROM cache_config WHERE model = ${model}`);
  return rows[0];
}

export interface ModelCacheSettingsRow extends CacheSettingsRow {
  model: string;
  updated_at: Date;
}

export async function upsertCacheSettings(db: Db, model: string, s: CacheSettingsRow): Promise<ModelCacheSettingsRow> {
  const rows = await db.timed('cache.upsert_settings', (sql) => sql<ModelCacheSettingsRow[]>`
    INSERT INTO cache_config (model, enabled, ttl_seconds, max_entries) VALUES (${model}, ${s.enabled}, ${s.ttl_seconds}, ${s.max_entries})
    ON CONFLICT (model) DO UPDATE SET enabled = EXCLUDED.enabled, ttl_seconds = EXCLUDED.ttl_seconds,
      max_entries = EXCLUDED.max_entries, updated_at = clock_timestamp()
    RETURNING model, enabled, ttl_seconds, max_entries, updated_at`);
  return rows[0]!;
}

export async function listCacheSettings(db: Db): Promise<ModelCacheSettingsRow[]> {
  return db.timed('cache.list_settings', (sql) => sql<ModelCacheSettingsRow[]>`
    SELECT model, enabled, ttl_seconds, max_entries, updated_at FROM cache_config ORDER BY model`);
}

export async function deleteCacheSettings(db: Db, model: string): Promise<boolean> {
  const rows = await db.timed('cache.delete_settings', (sql) => sql`
    DELETE FROM cache_config WHERE model = ${model} RETURNING model`);
  return rows.length > 0;
}

export interface CachedEntryRow {
  events: unknown[];
  prompt_tokens: number;
  completion_tokens: number;
}

// A live entry, counted as a hit in the same statement.
export async function takeCacheEntry(db: Db, key: string): Promise<CachedEntryRow | undefined> {
  const rows = await db.timed('cache.take', (sql) => sql<CachedEntryRow[]>`
    UPDATE llm_response_cache SET hit_count = hit_count + 1, last_hit_at = clock_timestamp()
     WHERE key = ${key} AND expires_at > clock_timestamp()
    RETURNING events, prompt_tokens, completion_tokens`);
  return rows[0];
}

export interface NewCacheEntry {
  key: string;
  model: string;
  provider: string;
  request: Record<string, unknown>;
  queryText: string;
  events: unknown[];
  responseText: string;
  promptTokens: number;
  completionTokens: number;
}

// Stores (or refreshes) an entry.
export async function saveCacheEntry(db: Db, e: NewCacheEntry, ttlSeconds: number): Promise<void> {
  await db.timed('cache.save', (sql) => sql`
    INSERT INTO llm_response_cache (key, model, provider, request, query_text, events, response_text, prompt_tokens, completion_tokens, expires_at)
    VALUES (${e.key}, ${e.model}, ${e.provider}, ${sql.json(e.request as never)}, ${e.queryText}, ${sql.json(e.events as never)},
            ${e.responseText}, ${e.promptTokens}, ${e.completionTokens}, clock_timestamp() + make_interval(secs => ${ttlSeconds}))
    ON CONFLICT (key) DO UPDATE SET events = EXCLUDED.events, response_text = EXCLUDED.response_text,
      prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
      created_at = clock_timestamp(), expires_at = EXCLUDED.expires_at`);
}

// Keeps the model's newest maxEntries. It walks maxEntries index entries, so callers run it
// once per a share of maxEntries saves, not after each. A statement of its own, not in a
// transaction with the save (postgres.js 3.4.9 crashes the process when a transaction's
// backend dies): it is idempotent, so a failure only leaves the model over its bound until
// the next trim.
export async function trimCacheEntries(db: Db, model: string, maxEntries: number): Promise<void> {
  await db.timed('cache.prune', (sql) => sql`
    DELETE FROM llm_response_cache WHERE key IN (
      SELECT key FROM llm_response_cache WHERE model = ${model}
       ORDER BY created_at DESC OFFSET ${maxEntries})`);
}

// Days are UTC so that replicas in different time zones add to the same row.
export async function countCacheRequest(db: Db, model: string, c: { hits: number; misses: number; tokensSaved: number }): Promise<void> {
  await db.timed('cache.count', (sql) => sql`
    INSERT INTO cache_analytics (day, model, hits, misses, tokens_saved)
    VALUES ((now() AT TIME ZONE 'UTC')::date, ${model}, ${c.hits}, ${c.misses}, ${c.tokensSaved})
    ON CONFLICT (day, model) DO UPDATE SET hits = cache_analytics.hits + EXCLUDED.hits,
      misses = cache_analytics.misses + EXCLUDED.misses, tokens_saved = cache_analytics.tokens_saved + EXCLUDED.tokens_saved`);
}

export async function purgeExpiredCache(db: Db): Promise<number> {
  const rows = await db.timed('cache.purge_expired', (sql) => sql`
    DELETE FROM llm_response_cache WHERE expires_at <= clock_timestamp()`);
  return rows.count;
}

export type { CacheStats };

export async function cacheStats(db: Db, days: number, top: number): Promise<CacheStats> {
  return db.timed('cache.stats', async (sql) => {
    const [byModel, topQueries, daily] = await Promise.all([
      sql<{ model: string; hits: string; misses: string; tokens_saved: string; hit_ratio: number; live_entries: string }[]>`
        SELECT model, hits, misses, tokens_saved, hit_ratio, live_entries FROM cache_by_model ORDER BY hits DESC, model`,
      sql<{ model: string; query_text: string; hit_count: string; tokens_saved: string; created_at: Date; last_hit_at: Date | null; expires_at: Date }[]>`
        SELECT model, query_text, hit_count, tokens_saved, created_at, last_hit_at, expires_at FROM top_cached_queries LIMIT ${top}`,
      sql<{ day: string; model: string; hits: string; misses: string; tokens_saved: string }[]>`
        SELECT to_char(day, 'YYYY-MM-DD') AS day, model, hits, misses, tokens_saved FROM cache_analytics
         WHERE day > (now() AT TIME ZONE 'UTC')::date - ${days}::int ORDER BY day DESC, model`,
    ]);
    return {
      by_model: byModel.map((r) => ({ ...r, hits: Number(r.hits), misses: Number(r.misses), tokens_saved: Number(r.tokens_saved), live_entries: Number(r.live_entries) })),
      top_queries: topQueries.map((r) => ({ ...r, hit_count: Number(r.hit_count), tokens_saved: Number(r.tokens_saved) })),
      daily: daily.map((r) => ({ ...r, hits: Number(r.hits), misses: Number(r.misses), tokens_saved: Number(r.tokens_saved) })),
    };
  });
}
