// What a string must be to reach PostgreSQL intact: no U+0000 (text and jsonb cannot hold
// it) and no unpaired UTF-16 surrogate (UTF-8 cannot encode one, so it would be stored as
// U+FFFD, silently changing what the client sent). Every path from the wire to SQL —
// request bodies, WebSocket frames, token claims — checks with these.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasNul(s: string): boolean {
  return s.includes('\u0000');
}

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

// The first reason a string cannot be stored as sent, or undefined when it can.
export function unstorable(s: string): string | undefined {
  if (hasNul(s)) return 'must not contain NUL characters';
  if (hasLoneSurrogate(s)) return 'must not contain unpaired UTF-16 surrogates (not valid Unicode)';
  return undefined;
}

// Strings nested anywhere in a JSON value (keys included).
export function unstorableJson(v: unknown): string | undefined {
  if (typeof v === 'string') return unstorable(v);
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = unstorableJson(x);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const r = unstorable(k) ?? unstorableJson(x);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

// JavaScript's whitespace (what String.prototype.trim removes), spelled out so the same
// character class means the same in the OpenAPI description's regex dialect and Python's.
export const WS_CLASS = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

// As JSON Schema patterns: NUL-free, and NUL-free with at least one non-space character.
export const NO_NUL = new RegExp('^[^\\u0000]*$');
export const NOT_BLANK_NO_NUL = new RegExp(`^[^\\u0000]*[^${WS_CLASS}\\u0000][^\\u0000]*$`);
