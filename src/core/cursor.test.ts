import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, keysetPage, type ListCursor } from './cursor.js';

describe('list cursor', () => {
  it('round-trips a microsecond timestamp and id', () => {
    const c = { t: '2026-11-23T20:40:19.924689Z', id: 'c217e82e-842c-4bdb-8465-7a819a611152' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it('rejects anything it did not issue, naming the cursor', () => {
    for (const bad of ['', '0', 'bm90LWpzb24', '12_x', '-1_c217e82e-842c-4bdb-8465-7a819a611152', Buffer.from('["x","y"]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(/cursor/);
    }
  });

  it('accepts every string of the documented pattern as a position', () => {
    expect(decodeCursor('0_C217E82E-842C-4BDB-8465-7A819A611152')).toEqual({ t: '1970-01-01T00:00:00.000000Z', id: 'c217e82e-842c-4bdb-8465-7a819a611152' });
    expect(decodeCursor('99999999999999999_c217e82e-842c-4bdb-8465-7a819a611152').t).toBe('5138-11-16T09:46:39.999999Z');
  });
});

describe('keysetPage', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ id: `00000000-0000-4000-8000-00000000000${i}`, cursor_ts: `2026-11-23T20:40:1${9 - i}.000000Z` }));
  const fetch = async (limit: number, before: ListCursor | undefined) =>
    rows.filter((r) => before === undefined || r.cursor_ts < before.t).slice(0, limit);

  it('walks every row once, page by page, and ends with a null cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await keysetPage(2, cursor, fetch);
      seen.push(...page.items.map((r) => r.id));
      if (page.next_cursor === null) break;
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(rows.map((r) => r.id));
  });

  it('gives no next cursor when the page is exactly the rest', async () => {
    expect((await keysetPage(5, undefined, fetch)).next_cursor).toBeNull();
    expect((await keysetPage(4, undefined, fetch)).next_cursor).not.toBeNull();
  });
});
