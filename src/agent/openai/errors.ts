// The failures of a call to an OpenAI-compatible server, each with the run.failed code a client
// sees. Messages are shown to users: they name the server's status and what to check, never the
// API key or the request body.
import { AgentFailure, type AgentFailureCode } from '../../core/agent.js';

export type LlmErrorCode = Extract<AgentFailureCode, `llm_${string}`>;

export class LlmError extends AgentFailure {
  // Whether another attempt may succeed (429, 5xx, connection refused), and how long the
  // server asked us to wait (Retry-After).
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: LlmErrorCode, message: string, opts: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
    this.name = 'LlmError';
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

const MAX_DETAIL = 200;

// The server's own error message (OpenAI: {"error":{"message":...}}), shortened; servers put
// useful hints there ("model not found"), and never our key.
export function serverDetail(body: string): string {
  let text = body.trim();
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message ?? parsed.message;
    if (typeof m === 'string') text = m;
  } catch {
    // not JSON (an HTML error page from a proxy, say): keep the raw text, shortened below
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

export function errorForStatus(status: number, body: string, retryAfter: string | undefined): LlmError {
  const detail = serverDetail(body);
  const said = detail === '' ? '' : `: ${detail}`;
  if (status === 401 || status === 403) {
    // The server's text is left out on purpose: it often quotes (part of) the key.
    return new LlmError('llm_unauthorized', `the model server refused the API key (HTTP ${status}); check LLM_API_KEY`);
  }
  if (status === 429) {
    return new LlmError('llm_rate_limited', `the model server is rate limiting requests (HTTP 429)${said}`, { retryable: true, retryAfterMs: parseRetryAfter(retryAfter) });
  }
  if (status >= 500) {
    return new LlmError('llm_unreachable', `the model server is unavailable (HTTP ${status})${said}`, { retryable: true, retryAfterMs: parseRetryAfter(retryAfter) });
  }
  return new LlmError('llm_bad_response', `the model server rejected the request (HTTP ${status})${said}`);
}

// Retry-After is seconds or an HTTP date.
export function parseRetryAfter(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
