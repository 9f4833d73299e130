// Mounts the route table on uWS: request id, auth layer, body limit, zod validation,
// error mapping, metrics and access log. uWS rules followed here: everything needed
// from HttpRequest is copied before the first await, onAborted is attached before any
// async work, and every write happens inside cork.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { EventSink, Route } from '../api/route.js';
import { paramNames } from '../api/route.js';
import type { Verifier } from '../auth/verifier.js';
import { isConnectionError } from '../db/client.js';
import { bearerToken } from '../auth/verifier.js';
import type { Inflight } from '../core/inflight.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { AppError, httpError, invalid } from '../protocol/errors.js';
import { headEventStream, openEventStream } from './sse.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws.js';

export interface HttpDeps {
  verifier: Verifier;
  log: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  inflight: Inflight;
}

interface Incoming {
  method: string;
  url: string;
  query: string;
  authorization: string;
  lastEventId: string;
  host: string;
  contentType: string;
  contentLength: number | undefined;
  // more than one Content-Length with different values: the body's end is ambiguous
  conflictingLength: boolean;
  requestId: string;
  params: string[];
}

interface State {
  aborted: boolean;
  done: boolean;
  bodyPending: boolean;
  // an event stream in progress is told when the client goes away
  onAbort?: () => void;
}

// Paths the WebSocket handler authenticates itself (first-message auth).
export function authExempt(url: string): boolean {
  return url === '/ws' || url.startsWith('/ws/');
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

function incoming(req: HttpRequest, nParams: number): Incoming {
  const len = req.getHeader('content-length');
  const lengths = new Set<string>();
  req.forEach((k, v) => {
    if (k === 'content-length') lengths.add(v.trim());
  });
  const given = req.getHeader('x-request-id');
  const params: string[] = [];
  for (let i = 0; i < nParams; i++) params.push(decodeURIComponent(req.getParameter(i) ?? ''));
  return {
    method: req.getMethod(),
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    authorization: req.getHeader('authorization'),
    lastEventId: req.getHeader('last-event-id'),
    host: req.getHeader('host'),
    contentType: req.getHeader('content-type'),
    contentLength: len === '' ? undefined : Number(len),
    conflictingLength: lengths.size > 1,
    requestId: REQUEST_ID.test(given) ? given : randomUUID(),
    params,
  };
}

export function mountHttp(app: TemplatedApp, routes: Route[], deps: HttpDeps): void {
  const methodsByPath = new Map<string, string[]>();
  for (const r of routes) {
    methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method.toUpperCase()]);
    const names = paramNames(r.path);
    const handle = (res: HttpResponse, req: HttpRequest) => {
      let inc: Incoming;
      try {
        inc = incoming(req, names.length);
      } catch {
        // a malformed percent-escape in a path parameter
        inc = { ...incoming(req, 0), params: names.map(() => '') };
        const state = begin(res, deps);
        return reply(res, state, inc, r.path, deps, errorReply(new AppError('invalid_request', 'invalid path: bad percent-encoding', { issues: [{ path: 'path', message: 'bad percent-encoding' }] })));
      }
      const state = begin(res, deps);
      if (inc.conflictingLength) return reply(res, state, inc, r.path, deps, conflictingLength());
      const body = r.body !== undefined ? readBody(res, deps.maxBodyBytes, inc.contentLength, state) : undefined;
      run(r, names, inc, body, deps)
        .then((out) => reply(res, state, inc, r.path, deps, out))
        .catch((err: unknown) => {
          // The database away (restarted, cut off, failing over) is "retry shortly", not a fault of ours.
          if (isConnectionError(err)) {
            deps.log.warn({ req_id: inc.requestId, route: r.path, ...errInfo(err) }, 'database unavailable');
            return reply(res, state, inc, r.path, deps, errorReply(new AppError('unavailable', 'database unavailable; retry shortly', { cause: err })));
          }
          if (!(err instanceof AppError)) deps.log.error({ req_id: inc.requestId, route: r.path, ...errInfo(err) }, 'handler failed');
          reply(res, state, inc, r.path, deps, errorReply(err));
        });
    };
    if (r.method === 'delete') app.del(r.path, handle);
    else app[r.method](r.path, handle);
    // HEAD answers like GET, without the body (RFC 9110 §9.3.2); load balancers probe with it.
    if (r.method === 'get') app.head(r.path, handle);
  }
  // Known path, other method → 405, after auth on authenticated API paths so anonymous
  // callers learn nothing about them.
  const publicPaths = new Set(routes.filter((r) => !r.auth).map((r) => r.path));
  for (const [path, methods] of methodsByPath) {
    if (methods.includes('GET')) methods.push('HEAD');
    app.any(path, (res, req) => fallback(res, req, deps, path, methods, !publicPaths.has(path)));
  }
  app.any('/*', (res, req) => fallback(res, req, deps, 'unmatched', undefined, true));
}

function conflictingLength(): Out {
  return { ...errorReply(new AppError('invalid_request', 'conflicting Content-Length headers')), close: true };
}

// Only the API is behind auth: anything else (favicon.ico, a missing asset) is public
// and simply not there, so a page load never logs a 401.
function needsAuth(url: string): boolean {
  return url === '/api' || url.startsWith('/api/');
}

function fallback(res: HttpResponse, req: HttpRequest, deps: HttpDeps, label: string, allow: string[] | undefined, authed: boolean): void {
  const inc = incoming(req, 0);
  const state = begin(res, deps);
  if (inc.conflictingLength) return reply(res, state, inc, label, deps, conflictingLength());
  const notFound = () => errorReply(new AppError('route_not_found', `no route for ${inc.method.toUpperCase()} ${inc.url}`));
  if (authExempt(inc.url)) return reply(res, state, inc, label, deps, notFound());
  (authed && needsAuth(inc.url) ? authenticate(inc, deps) : Promise.resolve())
    .then(() => {
      if (allow === undefined) return notFound();
      const out = errorReply(new AppError('method_not_allowed', `${inc.method.toUpperCase()} is not allowed here; use ${allow.join(', ')}`));
      out.headers = { ...out.headers, Allow: allow.join(', ') };
      return out;
    })
    .catch((err: unknown) => errorReply(err))
    .then((out) => reply(res, state, inc, label, deps, out));
}

function begin(res: HttpResponse, deps: HttpDeps): State & { start: bigint } {
  const state: State & { start: bigint } = { aborted: false, done: false, bodyPending: false, start: process.hrtime.bigint() };
  deps.inflight.begin();
  res.onAborted(() => {
    state.aborted = true;
    state.onAbort?.();
    if (!state.done) {
      state.done = true;
      deps.inflight.end();
    }
  });
  return state;
}

interface Out {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: { contentType: string; text: string };
  stream?: (sink: EventSink) => void;
  close?: boolean;
}

function errorReply(err: unknown): Out {
  const e = httpError(err);
  return { status: e.status, headers: e.headers, json: e.body };
}

async function authenticate(inc: Incoming, deps: HttpDeps): Promise<{ sub: string; claims: Record<string, unknown> }> {
  const v = await deps.verifier.verify(bearerToken(inc.authorization));
  return { sub: v.sub, claims: v.claims };
}

async function run(r: Route, names: string[], inc: Incoming, body: Promise<Buffer> | undefined, deps: HttpDeps): Promise<Out> {
  // Read (and bound) the body even when auth fails, so the connection stays usable.
  const bodyBuf = body?.catch((err: unknown) => err as Error);
  const who = r.auth ? await authenticate(inc, deps) : undefined;
  const params = r.params === undefined ? undefined : parse(r.params, Object.fromEntries(names.map((n, i) => [n, inc.params[i]])), 'path');
  // Pages and assets ignore query strings (cache busters, tracking parameters); the API
  // refuses the ones it does not know.
  const ignoreQuery = r.query === undefined && !needsAuth(r.path);
  const query = ignoreQuery ? undefined : parse(r.query, queryObject(inc.query), 'query');
  let parsedBody: unknown;
  if (r.body !== undefined) {
    const buf = await bodyBuf!;
    if (buf instanceof Error) throw buf;
    parsedBody = parse(r.body, decodeJson(buf, inc.contentType), 'body');
  }
  const result = await r.handler({
    user: who?.sub, claims: who?.claims, params, query, body: parsedBody, requestId: inc.requestId, lastEventId: inc.lastEventId, host: inc.host,
  });
  return { status: result.status, headers: result.headers, json: result.body, raw: result.raw, stream: result.stream };
}

// Every API query parameter is a single value: a repeated one (`?after_seq=1&after_seq=9`) is
// refused rather than silently read as its first or last copy, which client and server could
// each pick differently.
function queryObject(raw: string): Record<string, string> {
  const seen = new Map<string, string>();
  const repeated = new Set<string>();
  for (const [k, v] of new URLSearchParams(raw)) {
    if (seen.has(k)) repeated.add(k);
    seen.set(k, v);
  }
  if (repeated.size > 0) {
    throw invalid('query', [...repeated].map((k) => ({ path: [k], message: 'given more than once; send it once' })));
  }
  return Object.fromEntries(seen);
}

function parse(schema: Route['query'], value: unknown, where: string): unknown {
  if (schema === undefined) {
    if (where === 'query' && Object.keys(value as object).length > 0) {
      throw invalid('query', [{ path: [Object.keys(value as object)[0]!], message: 'unknown query parameter' }]);
    }
    return undefined;
  }
  const out = schema.safeParse(value);
  if (!out.success) throw invalid(where, out.error.issues);
  return out.data;
}

function decodeJson(buf: Buffer, contentType: string): unknown {
  if (buf.length === 0) return {};
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(contentType)) {
    throw new AppError('unsupported_media_type', `body must be application/json, got ${contentType === '' ? 'no Content-Type' : JSON.stringify(contentType.slice(0, 100))}`);
  }
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new AppError('invalid_request', `invalid body: malformed JSON (${(err as Error).message.slice(0, 120)})`, {
      issues: [{ path: 'body', message: 'malformed JSON' }],
    });
  }
}

function readBody(res: HttpResponse, limit: number, declared: number | undefined, state: State): Promise<Buffer> {
  const tooLarge = () => new AppError('payload_too_large', `request body exceeds ${limit} bytes`);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge());
  state.bodyPending = true;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (!state.bodyPending) return;
      size += chunk.byteLength;
      if (size > limit) {
        state.bodyPending = false;
        reject(tooLarge());
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after return
      if (isLast) {
        state.bodyPending = false;
        resolve(Buffer.concat(chunks, size));
      }
    });
  });
}

function reply(res: HttpResponse, state: State & { start: bigint }, inc: Incoming, route: string, deps: HttpDeps, out: Out): void {
  const seconds = Number(process.hrtime.bigint() - state.start) / 1e9;
  const status = state.aborted ? 499 : out.status;
  deps.metrics.httpDuration.observe({ method: inc.method.toUpperCase(), route, status: String(status) }, seconds);
  const level = route.startsWith('/health') && status < 500 ? 'debug' : status >= 500 ? 'error' : 'info';
  deps.log[level]({ req_id: inc.requestId, method: inc.method.toUpperCase(), route, status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
  if (state.aborted || state.done) return;
  state.done = true;
  deps.inflight.end();
  // Unread body bytes would be parsed as the next request: close instead.
  const close = out.close === true || state.bodyPending || (inc.contentLength !== undefined && inc.contentLength > 0 && out.status === 413);
  if (out.stream !== undefined && inc.method === 'head') return headEventStream(res, inc.requestId, out.headers ?? {}, out.stream);
  if (out.stream !== undefined) {
    // The stream is not a request in flight: shutdown ends it by ending its run.
    openEventStream(res, inc.requestId, out.headers ?? {}, (onAbort) => { state.onAbort = onAbort; }, out.stream);
    return;
  }
  const text = out.raw?.text ?? (out.json === undefined ? undefined : JSON.stringify(out.json));
  const head = inc.method === 'head';
  res.cork(() => {
    res.writeStatus(`${out.status} ${STATUS_CODES[out.status] ?? ''}`);
    res.writeHeader('x-request-id', inc.requestId);
    res.writeHeader('x-content-type-options', 'nosniff');
    if (text !== undefined) res.writeHeader('content-type', out.raw?.contentType ?? 'application/json');
    for (const [k, v] of Object.entries(out.headers ?? {})) res.writeHeader(k, v);
    // HEAD carries GET's headers but no Content-Length: only GET's body determines it
    // (RFC 9110 §9.3.2), and this uWS, told a length, waits for that many bytes and never
    // answers the connection's next request. A 204 must not carry one (§8.6). Without an
    // argument uWS writes none and keeps the connection; with closeConnection it needs a
    // number (undefined throws), so a response that must also close says 0.
    const noLength = out.status === 204 || (head && text !== undefined);
    if (noLength && !close) res.endWithoutBody();
    else if (noLength || text === undefined || head) res.endWithoutBody(0, close);
    else res.end(text, close);
  });
}
