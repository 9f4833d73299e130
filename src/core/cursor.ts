// Keyset pagination shared by every "newest first" list: the cursor is the last item's
// (created_at to the microsecond, id), so a page never skips or repeats a row when rows are
// added meanwhile, and the next page is an index range scan rather than an OFFSET.
import { invalid } from '../protocol/errors.js';
import { CURSOR_PATTERN } from '../protocol/rest.js';

export interface ListCursor {
  t: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

const ISO_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(c: ListCursor): string {
  if (!ISO_US.test(c.t)) throw new Error(`cursor timestamp must have microseconds: ${c.t}`);
  const micros = BigInt(Date.parse(c.t.slice(0, 23) + 'Z')) * 1000n + BigInt(c.t.slice(23, 26));
  return `${micros}_${c.id.toLowerCase()}`;
}

export function decodeCursor(s: string): ListCursor {
  if (!CURSOR_PATTERN.test(s)) throw invalid('query', [{ path: ['cursor'], message: 'not a cursor returned by this API' }]);
  const [num = '', id = ''] = s.split('_');
  const micros = BigInt(num);
  const ms = new Date(Number(micros / 1000n)).toISOString(); // …SS.mmmZ
  return { t: `${ms.slice(0, -1)}${String(micros % 1000n).padStart(3, '0')}Z`, id: id.toLowerCase() };
}

// `fetch` is asked for one row more than the page, which tells whether another page exists
// without a COUNT.
export async function keysetPage<T extends { id: string; cursor_ts: string }>(
  limit: number,
  cursor: string | undefined,
  fetch: (limit: number, before: ListCursor | undefined) => Promise<T[]>,
): Promise<Page<T>> {
  const rows = await fetch(limit + 1, cursor === undefined ? undefined : decodeCursor(cursor));
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last !== undefined ? encodeCursor({ t: last.cursor_ts, id: last.id }) : null };
}
