// OpenAPI 3.1 generated from the route table, so the document cannot drift from what
// the server validates.
import { z } from 'zod';
import type { Route } from './route.js';

type Json = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

function parameters(r: Route): Json[] {
  const out: Json[] = [];
  for (const [where, s] of [['path', r.params], ['query', r.query]] as const) {
    if (s === undefined) continue;
    const js = schema(s, 'input');
    const props = (js.properties ?? {}) as Record<string, Json>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, p] of Object.entries(props)) {
      out.push({
        name, in: where, required: where === 'path' || (required.has(name) && p.default === undefined),
        ...(p.description ? { description: p.description } : {}), schema: p,
      });
    }
  }
  return out;
}

function operationId(method: string, path: string): string {
  return `${method}${path.replace(/[/:]+(\w)/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, '')}`;
}

export function openApiDocument(routes: Route[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const responses: Json = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      responses[status] = {
        description: doc.description,
        ...(doc.links ? {
          links: Object.fromEntries(Object.entries(doc.links).map(([name, l]) => [name, { operationId: operationId(l.method, l.path), parameters: l.parameters }])),
        } : {}),
        ...(doc.schema ? { content: { 'application/json': { schema: schema(doc.schema, 'output') } } } : {}),
      };
    }
    (paths[p] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: operationId(r.method, r.path),
      ...(r.auth ? {} : { security: [] }),
      parameters: parameters(r),
      // A body whose every field is optional may be omitted: the server reads no body as {}.
      ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: schema(r.body, 'input') } } } } : {}),
      responses,
    };
  }
  for (const r of routes) {
    for (const l of Object.values(r.responses).flatMap((d) => Object.values(d.links ?? {}))) {
      if (!routes.some((t) => t.method === l.method && t.path === l.path)) throw new Error(`link from ${r.method} ${r.path} to unknown ${l.method} ${l.path}`);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'chat-backend',
      version,
      description: 'REST API of chat-backend. Real-time traffic uses the WebSocket protocol at /ws/conversations/{id}, which authenticates with its first message.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
