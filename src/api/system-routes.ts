// Public routes: liveness, readiness, and the API description.
import { readiness, type HealthDeps } from '../core/health.js';
import { HealthJson } from '../protocol/rest.js';
import { docsPage } from './docs-page.js';
import { openApiDocument } from './openapi.js';
import { route, type Route } from './route.js';

export function systemRoutes(health: HealthDeps, apiRoutes: () => Route[], version: string): Route[] {
  let openapi: string | undefined; // the table is fixed after start-up: render once
  return [
    route({
      method: 'get', path: '/health', tag: 'health', auth: false,
      summary: 'Liveness: the process and its event loop answer',
      responses: { 200: { description: 'alive', schema: HealthJson } },
      handler: async () => ({ status: 200, body: { status: 'ok', checks: { process: { status: 'ok', uptime_s: Math.round(process.uptime()) } } } }),
    }),
    route({
      method: 'get', path: '/health/full', tag: 'health', auth: false,
      summary: 'Readiness: database within the deadline, schema current, not draining',
      responses: {
        200: { description: 'ready', schema: HealthJson },
        503: { description: 'not ready; the body names each failing check', schema: HealthJson },
      },
      handler: async () => {
        const report = await readiness(health);
        return { status: report.status === 'ok' ? 200 : 503, body: report, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    route({
      method: 'get', path: '/api/openapi.json', tag: 'docs', auth: false,
      summary: 'This OpenAPI document',
      responses: { 200: { description: 'OpenAPI 3.1' } },
      handler: async () => {
        openapi ??= JSON.stringify(openApiDocument(apiRoutes(), version));
        return { status: 200, raw: { contentType: 'application/json', text: openapi } };
      },
    }),
    route({
      method: 'get', path: '/api/docs', tag: 'docs', auth: false,
      summary: 'Human-readable API reference',
      responses: { 200: { description: 'HTML' } },
      handler: async () => ({ status: 200, raw: { contentType: 'text/html; charset=utf-8', text: docsPage } }),
    }),
  ];
}
