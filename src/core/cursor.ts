// Keyset pagination shared by every "newest first" list: the cursor is the last item's
// (created_at to the microsecond, id), so a page never skips or repeats a row when rows are
// added meanwhile, and the next page is an index range scan rather than an OFFSET.
import { invalid } from '../protocol/errors.js';

export interface ListCursor {
  t: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify([c.t, c.id])).toString('base64url');
}

export function decodeCursor(s: string): ListCursor {
  const bad = () => invalid('query', [{ path: ['cursor'], message: 'not a cursor returned by this API' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [t, id] = parsed as unknown[];
  if (typeof t !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(t)) throw bad();
  if (typeof id !== 'string' || !UUID.test(id)) throw bad();
  return { t, id };
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
