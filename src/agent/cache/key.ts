// The cache key: SHA-256 of the request in a canonical form. Object keys are sorted, transport
// options that cannot change the answer (stream, stream_options) are dropped, and message text
// is trimmed, so requests that differ only in spelling of the same thing share an entry.
import { createHash } from 'node:crypto';

const TRANSPORT_ONLY = new Set(['stream', 'stream_options']);

// `endpoint` is part of the key: two servers may serve different models under one name
// (a local vLLM "gpt-4o" is not OpenAI's). Credentials in the URL never reach the key.
export function normaliseRequest(provider: string, body: Record<string, unknown>, endpoint?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { provider };
  if (endpoint !== undefined) out.endpoint = endpointId(endpoint);
  for (const [k, v] of Object.entries(body)) {
    if (TRANSPORT_ONLY.has(k) || v === undefined || v === null) continue;
    out[k] = k === 'messages' && Array.isArray(v) ? v.map(normaliseMessage) : v;
  }
  return canonical(out) as Record<string, unknown>;
}

function endpointId(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}

function normaliseMessage(m: unknown): unknown {
  if (m === null || typeof m !== 'object') return m;
  const msg = { ...(m as Record<string, unknown>) };
  if (typeof msg.content === 'string') msg.content = msg.content.trim();
  return msg;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

export function cacheKey(normalised: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(normalised)).digest('hex');
}
