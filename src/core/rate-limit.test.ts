import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, refuses beyond it, and refills at the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.debt).toBe(1);
    now = 100; // 0.1 s at 10/s = 1 token
    expect(b.take()).toBe(true);
    expect(b.debt).toBe(0);
    expect(b.take()).toBe(false);
  });
});
