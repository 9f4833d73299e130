// The one error catalog. Every error a client can see has a stable string code, a
// number (for logs and docs, Centrifugo-style), an HTTP status and a WebSocket close
// code. httpError/closeFor are the only places that translate errors for the wire.

import type { RunFailureCode } from './wire.js';
export const ERRORS = {
  internal: { num: 100, status: 500, close: 1011, message: 'internal server error' },
  invalid_request: { num: 101, status: 400, close: 4400, message: 'invalid request' },
  payload_too_large: { num: 102, status: 413, close: 1009, message: 'payload too large' },
  route_not_found: { num: 103, status: 404, close: 4400, message: 'no such route' },
  method_not_allowed: { num: 104, status: 405, close: 4400, message: 'method not allowed' },
  unauthorized: { num: 105, status: 401, close: 4401, message: 'authentication required' },
  forbidden: { num: 106, status: 403, close: 4403, message: 'forbidden' },
  conversation_not_found: { num: 107, status: 404, close: 4404, message: 'conversation not found' },
  rate_limited: { num: 108, status: 429, close: 4429, message: 'rate limit exceeded' },
  unavailable: { num: 109, status: 503, close: 1001, message: 'server unavailable' },
  auth_timeout: { num: 110, status: 408, close: 4408, message: 'authentication timed out' },
  conflict: { num: 111, status: 409, close: 4409, message: 'conflict' },
  unsupported_media_type: { num: 112, status: 415, close: 4400, message: 'unsupported media type' },
  heartbeat_timeout: { num: 113, status: 408, close: 4410, message: 'no pong to two pings' },
  slow_consumer: { num: 114, status: 503, close: 1013, message: 'too much output buffered: reconnect with last_seq to resume' },
  run_not_found: { num: 115, status: 404, close: 4400, message: 'no such run in this conversation' },
  message_too_big: { num: 116, status: 413, close: 1009, message: 'frame exceeds 64 KiB' },
  document_not_found: { num: 117, status: 404, close: 4404, message: 'document not found' },
  cache_config_not_found: { num: 118, status: 404, close: 4400, message: 'no cache settings for this model' },
  approval_not_found: { num: 119, status: 404, close: 4400, message: 'no such tool approval in your conversations' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

// Why an answer ended without completing: the `code` of run.failed, which clients switch on.
// Each with what the user is told when nothing more specific is known.
export const RUN_FAILURES = {
  cancelled: 'cancelled by the user',
  interrupted: 'the server running this answer stopped',
  failed: 'the agent failed',
  llm_unreachable: 'the model server cannot be reached',
  llm_unauthorized: 'the model server refused the API key',
  llm_rate_limited: 'the model server is rate limiting requests',
  llm_bad_response: 'the model server rejected the request',
  llm_timeout: 'the model server did not answer in time',
} as const satisfies Record<RunFailureCode, string>;

export type { RunFailureCode };

export interface FieldIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, opts?: { issues?: FieldIssue[]; headers?: Record<string, string>; cause?: unknown }) {
    super(message ?? ERRORS[code].message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.issues = opts?.issues;
    this.headers = opts?.headers;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; issues?: FieldIssue[] };
}

export interface HttpErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

// Unknown errors become a bare 500: their message may hold SQL, paths or secrets.
export function httpError(err: unknown): HttpErrorResponse {
  const e = err instanceof AppError ? err : new AppError('internal');
  const body: ErrorBody = { error: { code: e.code, message: e.message } };
  if (e.issues !== undefined) body.error.issues = e.issues;
  return { status: ERRORS[e.code].status, headers: e.headers ?? {}, body };
}

export function closeFor(err: unknown): { code: number; reason: string } {
  const e = err instanceof AppError ? err : new AppError('internal');
  // Close reasons are capped at 123 bytes by RFC 6455.
  return { code: ERRORS[e.code].close, reason: truncateUtf8(e.message, 123) };
}

function truncateUtf8(s: string, max: number): string {
  const buf = Buffer.from(s);
  if (buf.length <= max) return s;
  return buf.subarray(0, max).toString().replace(/\uFFFD+$/, '');
}

// zod issue → the field it names, in the dotted form a client developer can act on.
export function issuesFromZod(where: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldIssue[] {
  return issues.map((i) => ({
    path: [where, ...i.path.map(String)].filter((s) => s !== '').join('.'),
    message: i.message,
  }));
}

export function invalid(where: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): AppError {
  const fields = issuesFromZod(where, issues);
  const text = fields.map((f) => `${f.path}: ${f.message}`).join('; ');
  return new AppError('invalid_request', `invalid ${where}: ${text}`, { issues: fields });
}
