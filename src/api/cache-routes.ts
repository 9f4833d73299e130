// /api/v1/cache: what the response cache saves (stats, per model, per day and for the most
// reused queries) and its per-model settings (config). Admins only: query texts are other
// users' questions, and settings apply to everyone. Admin means the token's ADMIN_CLAIM equals
// ADMIN_ROLE, or is an array holding it (Keycloak/Auth0-style role lists).
import { z } from 'zod';
import type { CacheAdminStore, CacheSettings, ModelCacheSettings } from '../core/cache.js';
import { AppError } from '../protocol/errors.js';
import { ErrorJson, text } from '../protocol/rest.js';
import { route, type Route } from './route.js';

export const CacheStatsQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30).describe('days of daily counts, today included'),
  top: z.coerce.number().int().min(1).max(100).default(10).describe('how many of the most reused queries'),
});

export const CacheStatsJson = z.object({
  by_model: z.array(z.object({
    model: z.string(), hits: z.number().int(), misses: z.number().int(), tokens_saved: z.number().int(),
    hit_ratio: z.number(), live_entries: z.number().int(),
  })),
  top_queries: z.array(z.object({
    model: z.string(), query_text: z.string(), hit_count: z.number().int(), tokens_saved: z.number().int(),
    created_at: z.iso.datetime(), last_hit_at: z.iso.datetime().nullable(), expires_at: z.iso.datetime(),
  })),
  daily: z.array(z.object({ day: z.string(), model: z.string(), hits: z.number().int(), misses: z.number().int(), tokens_saved: z.number().int() })),
});

const Model = text(256);

export const CacheSettingsBody = z.strictObject({
  model: Model.describe('the model name as sent to the provider (LLM_MODEL), e.g. gpt-4o-mini'),
  enabled: z.boolean().describe('false: requests for this model bypass the cache (neither read nor stored)'),
  ttl_seconds: z.number().int().min(1).max(31_536_000).describe('how long a stored response stays valid'),
  max_entries: z.number().int().min(1).max(10_000_000).describe('entries kept for this model; the oldest go first'),
});

export const CacheSettingsQuery = z.strictObject({ model: Model });

const Settings = z.object({ enabled: z.boolean(), ttl_seconds: z.number().int(), max_entries: z.number().int() });
const ModelSettings = Settings.extend({ model: z.string(), updated_at: z.iso.datetime() });

export const CacheConfigJson = z.object({
  defaults: Settings.describe('what models without a row get (CACHE_ENABLED, CACHE_TTL_S, CACHE_MAX_ENTRIES)'),
  models: z.array(ModelSettings),
});

const defaultsJson = (s: CacheSettings) => ({ enabled: s.enabled, ttl_seconds: s.ttlSeconds, max_entries: s.maxEntries });
const settingsJson = (s: ModelCacheSettings) => ({ model: s.model, ...defaultsJson(s), updated_at: s.updatedAt.toISOString() });

export function isAdmin(claims: Record<string, unknown> | undefined, admin: { claim: string; role: string }): boolean {
  const v = claims?.[admin.claim];
  return v === admin.role || (Array.isArray(v) && v.includes(admin.role));
}

export function cacheRoutes(cache: CacheAdminStore, defaults: CacheSettings, admin: { claim: string; role: string }): Route[] {
  const requireAdmin = (claims: Record<string, unknown> | undefined, what: string) => {
    if (!isAdmin(claims, admin)) throw new AppError('forbidden', `${what} need the "${admin.role}" role in the "${admin.claim}" claim`);
  };
  const unauthorized = { description: 'missing or invalid bearer token', schema: ErrorJson };
  const forbidden = { description: 'the token lacks the admin role claim', schema: ErrorJson };
  const invalid = { description: 'invalid query or body (the error names the field)', schema: ErrorJson };
  return [
    route<undefined, z.output<typeof CacheStatsQuery>>({
      method: 'get', path: '/api/v1/cache/stats', tag: 'cache', auth: true,
      summary: 'Response cache hits, misses and tokens saved (admin role claim required)',
      query: CacheStatsQuery,
      responses: {
        200: { description: 'cache statistics', schema: CacheStatsJson },
        400: invalid, 401: unauthorized, 403: forbidden,
      },
      handler: async (ctx) => {
        requireAdmin(ctx.claims, 'cache statistics');
        const s = await cache.stats(ctx.query.days, ctx.query.top);
        return {
          status: 200,
          headers: { 'Cache-Control': 'no-store' },
          body: {
            ...s,
            top_queries: s.top_queries.map((q) => ({
              ...q, created_at: q.created_at.toISOString(), last_hit_at: q.last_hit_at?.toISOString() ?? null, expires_at: q.expires_at.toISOString(),
            })),
          },
        };
      },
    }),
    route({
      method: 'get', path: '/api/v1/cache/config', tag: 'cache', auth: true,
      summary: 'Per-model response cache settings and the defaults (admin role claim required)',
      responses: { 200: { description: 'settings', schema: CacheConfigJson }, 401: unauthorized, 403: forbidden },
      handler: async (ctx) => {
        requireAdmin(ctx.claims, 'cache settings');
        return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { defaults: defaultsJson(defaults), models: (await cache.listSettings()).map(settingsJson) } };
      },
    }),
    route<undefined, undefined, z.output<typeof CacheSettingsBody>>({
      method: 'put', path: '/api/v1/cache/config', tag: 'cache', auth: true,
      summary: "Set one model's cache settings; every replica uses them from its next request (admin role claim required)",
      body: CacheSettingsBody,
      responses: { 200: { description: 'stored', schema: ModelSettings }, 400: invalid, 401: unauthorized, 403: forbidden },
      handler: async (ctx) => {
        requireAdmin(ctx.claims, 'cache settings');
        const { model, enabled, ttl_seconds: ttlSeconds, max_entries: maxEntries } = ctx.body;
        return { status: 200, body: settingsJson(await cache.putSettings(model, { enabled, ttlSeconds, maxEntries })) };
      },
    }),
    route<undefined, z.output<typeof CacheSettingsQuery>>({
      method: 'delete', path: '/api/v1/cache/config', tag: 'cache', auth: true,
      summary: "Drop one model's settings so it follows the defaults again (admin role claim required)",
      query: CacheSettingsQuery,
      responses: {
        204: { description: 'removed' }, 400: invalid, 401: unauthorized, 403: forbidden,
        404: { description: 'this model has no settings of its own', schema: ErrorJson },
      },
      handler: async (ctx) => {
        requireAdmin(ctx.claims, 'cache settings');
        if (!await cache.deleteSettings(ctx.query.model)) throw new AppError('cache_config_not_found', `model ${JSON.stringify(ctx.query.model)} has no cache settings of its own`);
        return { status: 204 };
      },
    }),
  ];
}
