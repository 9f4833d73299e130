// GET /api/v1/cache/stats: what the response cache saves, per model, per day and for the most
// reused queries. Admins only: query texts are other users' questions. Admin means the token's
// ADMIN_CLAIM equals ADMIN_ROLE, or is an array holding it (Keycloak/Auth0-style role lists).
import { z } from 'zod';
import type { CacheStats } from '../db/cache.js';
import { AppError } from '../protocol/errors.js';
import { ErrorJson } from '../protocol/rest.js';
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

export function isAdmin(claims: Record<string, unknown> | undefined, admin: { claim: string; role: string }): boolean {
  const v = claims?.[admin.claim];
  return v === admin.role || (Array.isArray(v) && v.includes(admin.role));
}

export function cacheRoutes(stats: (days: number, top: number) => Promise<CacheStats>, admin: { claim: string; role: string }): Route[] {
  return [
    route<undefined, z.output<typeof CacheStatsQuery>>({
      method: 'get', path: '/api/v1/cache/stats', tag: 'cache', auth: true,
      summary: 'Response cache hits, misses and tokens saved (admin role claim required)',
      query: CacheStatsQuery,
      responses: {
        200: { description: 'cache statistics', schema: CacheStatsJson },
        400: { description: 'invalid query', schema: ErrorJson },
        401: { description: 'missing or invalid bearer token', schema: ErrorJson },
        403: { description: `the token lacks the admin role claim`, schema: ErrorJson },
      },
      handler: async (ctx) => {
        if (!isAdmin(ctx.claims, admin)) throw new AppError('forbidden', `cache statistics need the "${admin.role}" role in the "${admin.claim}" claim`);
        const s = await stats(ctx.query.days, ctx.query.top);
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
  ];
}
