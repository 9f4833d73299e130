import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './conversations.js';

describe('list cursor', () => {
  it('round-trips a microsecond timestamp and id', () => {
    const c = { t: '2026-11-23T20:40:19.924689Z', id: 'c217e82e-842c-4bdb-8465-7a819a611152' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it('rejects anything it did not issue, naming the cursor', () => {
    for (const bad of ['', 'bm90LWpzb24', Buffer.from('["x","y"]').toString('base64url'), Buffer.from('{"t":1}').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(/cursor/);
    }
  });
});
