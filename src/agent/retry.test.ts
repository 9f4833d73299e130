import { describe, expect, it } from 'vitest';
import { retryDelayMs, withRetries } from './retry.js';

class Flaky extends Error {
  constructor(readonly retryable: boolean, readonly afterMs?: number) {
    super(retryable ? 'try again' : 'final');
  }
}
const verdict = (err: unknown) => (err instanceof Flaky && err.retryable ? { retryAfterMs: err.afterMs } : undefined);

describe('withRetries', () => {
  it('retries retryable failures and returns the first success', async () => {
    const attempts: number[] = [];
    const out = await withRetries(async (n) => {
      attempts.push(n);
      if (n < 2) throw new Flaky(true);
      return 'ok';
    }, { maxRetries: 2, baseMs: 1 }, verdict);
    expect(out).toBe('ok');
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('throws the last error once the retries are spent', async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw new Flaky(true, 0); }, { maxRetries: 2, baseMs: 1 }, verdict)).rejects.toThrow('try again');
    expect(calls).toBe(3);
  });

  it('does not retry a final error', async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw new Flaky(false); }, { maxRetries: 5, baseMs: 1 }, verdict)).rejects.toThrow('final');
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const ac = new AbortController();
    let calls = 0;
    const p = withRetries(async () => { calls++; throw new Flaky(true, 60_000); }, { maxRetries: 5, baseMs: 1, maxWaitMs: 60_000 }, verdict, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow('try again');
    expect(calls).toBe(1);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base with ±25 % jitter', () => {
    for (let i = 0; i < 50; i++) {
      const d = retryDelayMs(3, { maxRetries: 5, baseMs: 100 }, undefined);
      expect(d).toBeGreaterThanOrEqual(600);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  it('honours Retry-After up to the cap', () => {
    expect(retryDelayMs(0, { maxRetries: 1, baseMs: 100 }, 2000)).toBe(2000);
    expect(retryDelayMs(0, { maxRetries: 1, baseMs: 100, maxWaitMs: 500 }, 2000)).toBe(500);
    expect(retryDelayMs(10, { maxRetries: 1, baseMs: 1000 }, undefined)).toBe(30_000);
  });
});
