import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, reconnectOptions } from './backoff.js';
import { randomUuid, tokenExpiry } from './ids.js';

describe('backoff', () => {
  it('is full jitter under an exponential ceiling capped at the maximum', () => {
    const o = reconnectOptions({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([0, 1, 2, 3, 4, 50, 5000].map((n) => backoffCeiling(n, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(3, o, () => 0)).toBe(0);
    expect(backoffDelay(3, o, () => 0.999999)).toBe(799);
    const seen = new Set(Array.from({ length: 200 }, () => backoffDelay(10, o)));
    expect(Math.max(...seen)).toBeLessThan(1000);
    expect(seen.size).toBeGreaterThan(50);
  });

  it('defaults to 5 attempts and refuses nonsense', () => {
    expect(reconnectOptions(undefined).retries).toBe(5);
    expect(reconnectOptions({ retries: Infinity }).retries).toBe(Infinity);
    expect(() => reconnectOptions({ retries: -1 })).toThrow(/retries/);
    expect(() => reconnectOptions({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
  });
});

describe('ids', () => {
  it('makes v4 UUIDs and reads a JWT expiry without verifying', () => {
    expect(randomUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const payload = Buffer.from(JSON.stringify({ exp: 1700000000, sub: 'ü' })).toString('base64url');
    expect(tokenExpiry(`h.${payload}.s`)).toBe(1700000000_000);
    expect(tokenExpiry('opaque-token')).toBeUndefined();
    expect(tokenExpiry('a.!!!.b')).toBeUndefined();
  });
});
