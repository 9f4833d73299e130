// A route is data: method, path, auth, schemas and a handler that knows nothing about
// uWS. The transport mounts the table; the OpenAPI document is generated from it.
import type { EventSink } from '../core/event-sink.js';
import type { z } from 'zod';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RequestContext<P, Q, B> {
  user: string | undefined;
  claims: Record<string, unknown> | undefined;
  params: P;
  query: Q;
  body: B;
  requestId: string;
  // the Last-Event-ID header of an event-stream request ('' when absent)
  lastEventId?: string;
  host: string; // the Host header, as sent
}

export interface Reply {
  status: number;
  body?: unknown;
  // pre-rendered bodies (HTML, metrics text) skip JSON encoding
  raw?: { contentType: string; text: string };
  headers?: Record<string, string>;
  // a server-sent event stream: the transport sends the status and headers, then hands
  // the sink over; the stream lives until it calls end() or the client goes away
  stream?: (sink: EventSink) => void;
}

export type { EventSink };

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  // OpenAPI links: which operations take a value of this response, e.g. the new id.
  links?: Record<string, { method: Method; path: string; parameters: Record<string, string> }>;
}

export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  path: string; // uWS pattern, e.g. /api/v1/conversations/:id
  summary: string;
  tag: string;
  auth: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  responses: Record<number, ResponseDoc>;
  handler(ctx: RequestContext<P, Q, B>): Promise<Reply>;
}

// Keeps each route's handler typed by its own schemas while the table stays one array.
export function route<P = undefined, Q = undefined, B = undefined>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

// Path parameter names in declaration order, as uWS getParameter(i) returns them.
export function paramNames(path: string): string[] {
  return path.split('/').filter((s) => s.startsWith(':')).map((s) => s.slice(1));
}

// Links from a created resource to the operations on it, for the OpenAPI description.
export function byId(path: string, methods: Method[], extra: NonNullable<ResponseDoc['links']> = {}): NonNullable<ResponseDoc['links']> {
  return { ...Object.fromEntries(methods.map((m) => [m, { method: m, path, parameters: { id: '$response.body#/id' } }])), ...extra };
}
