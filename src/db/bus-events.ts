// bus_events: payloads too large for one NOTIFY, sent by reference (pg-bus.ts).
import type { Db } from './client.js';

export async function storeBusEvent(db: Db, payload: unknown): Promise<string> {
  const rows = await db.timed('bus.store', (sql) => sql<{ id: string }[]>`
    INSERT INTO bus_events (payload) VALUES (${sql.json(payload as never)}) RETURNING id`);
  return rows[0]!.id;
}

export async function loadBusEvent(db: Db, id: string): Promise<unknown> {
  const rows = await db.timed('bus.load', (sql) => sql<{ payload: unknown }[]>`SELECT payload FROM bus_events WHERE id = ${id}`);
  return rows[0]?.payload;
}

export async function pruneBusEvents(db: Db, olderThanS: number): Promise<number> {
  const res = await db.timed('bus.prune', (sql) => sql`
    DELETE FROM bus_events WHERE created_at < clock_timestamp() - make_interval(secs => ${olderThanS})`);
  return res.count;
}
