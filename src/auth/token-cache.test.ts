import { describe, expect, it } from 'vitest';
import { TokenCache } from './token-cache.js';

const v = (sub: string, exp: number) => ({ sub, exp, claims: {} });

describe('TokenCache', () => {
  it('returns a hit until exp, then forgets it', () => {
    let now = 1000;
    const c = new TokenCache(10, () => now);
    c.set('t1', v('a', 1005));
    expect(c.get('t1')?.sub).toBe('a');
    now = 1005;
    expect(c.get('t1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new TokenCache(2, () => 0);
    c.set('a', v('a', 10));
    c.set('b', v('b', 10));
    c.get('a');
    c.set('c', v('c', 10));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')?.sub).toBe('a');
    expect(c.get('c')?.sub).toBe('c');
  });

  it('never keeps the token itself', () => {
    const c = new TokenCache(2, () => 0);
    c.set('secret.token.value', v('a', 10));
    expect(JSON.stringify([...(c as unknown as { entries: Map<string, unknown> }).entries.keys()])).not.toContain('secret');
  });

  it('is disabled at size 0', () => {
    const c = new TokenCache(0);
    c.set('a', v('a', Date.now() / 1000 + 100));
    expect(c.get('a')).toBeUndefined();
  });
});
