// The PostgreSQL bus while its database is away, on a real PostgreSQL that is stopped and
// started again: what it reports (link down, drops) is what the dashboard's "Bus drops and
// link" panel and the operators reading it rely on.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bus, BusEvent } from '../../src/core/bus.js';
import { createDb, type Db } from '../../src/db/client.js';
import { createPgBus } from '../../src/db/pg-bus.js';
import { createLogger } from '../../src/log.js';
import { countingMetrics } from '../helpers/bus-metrics.js';
import { faultPostgresAvailable, startMigratedFaultPostgres, type FaultPostgres } from '../helpers/fault-pg.js';

const typing = (conv: string): BusEvent => ({ kind: 'frame', conv, frame: { type: 'typing', session_id: 's', user_id: 'alice', state: 'start' } });

describe.skipIf(faultPostgresAvailable())('the PostgreSQL bus while PostgreSQL is away', () => {
  let pg: FaultPostgres;
  let db: Db;
  const buses: Bus[] = [];
  beforeAll(async () => {
    pg = await startMigratedFaultPostgres();
    db = createDb(pg.url, { max: 2 });
  }, 60_000);
  // each case's buses go with it: the next one looks for the sending connection by name
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await db?.end();
    await pg?.destroy();
  });

  it('reports the link down when its connection is lost, before anything is published; counts what is published meanwhile as dropped; is up again and heard once PostgreSQL is back', async () => {
    const { m: metrics, counts: seen } = countingMetrics();
    const a = await createPgBus(pg.url, db, createLogger('silent'), randomUUID(), { metrics });
    const b = await createPgBus(pg.url, db, createLogger('silent'), randomUUID());
    buses.push(a, b);
    const conv = randomUUID();
    const heard: BusEvent[] = [];
    b.subscribe((ev, local) => { if (!local && ev.kind === 'frame' && ev.conv === conv) heard.push(ev); });
    a.publish(typing(conv));
    await expect.poll(() => heard.length, { message: 'the first event heard', timeout: 20_000 }).toBe(1);
    expect(seen.links.at(-1)).toBe(true);

    await pg.stop('immediate');
    // Nothing is published: the lost connection alone says the link is down.
    await expect.poll(() => seen.links.at(-1), { message: 'the link reported down', timeout: 20_000 }).toBe(false);
    a.publish(typing(conv));
    await expect.poll(() => seen.drops.includes('typing publish_error'), { message: 'the event published while PostgreSQL is away counted as dropped', timeout: 20_000 }).toBe(true);
    expect(seen.links.at(-1)).toBe(false);

    await pg.start();
    await expect.poll(() => seen.links.at(-1), { message: 'the link reported up again', timeout: 30_000 }).toBe(true);
    // B hears what is sent once its own listener is back (a NOTIFY reaches only those
    // listening when it commits; what B missed meanwhile it re-reads, as _hello tells it).
    const t = setInterval(() => a.publish(typing(conv)), 200);
    try {
      await expect.poll(() => heard.length >= 2, { message: 'an event published after the outage heard', timeout: 30_000 }).toBe(true);
    } finally {
      clearInterval(t);
    }
  }, 90_000);

  it('reports the link down when only its sending backend is ended, and up again once it has reconnected, with nothing published', async () => {
    const { m: metrics, counts: seen } = countingMetrics();
    const a = await createPgBus(pg.url, db, createLogger('silent'), randomUUID(), { metrics });
    buses.push(a);
    const admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
    let from = 0;
    try {
      // its announcement at start (a control message: never counted as a drop) opened the
      // sending connection; end it once that is idle
      const idle = () => admin`SELECT pid FROM pg_stat_activity WHERE application_name = 'chat-backend-notify' AND state = 'idle'`;
      await expect.poll(async () => (await idle()).length, { message: 'the bus opened its sending connection', timeout: 5_000 }).toBeGreaterThan(0);
      await expect.poll(() => seen.links.at(-1), { message: 'the link reported up', timeout: 20_000 }).toBe(true);
      from = seen.links.length;
      const ended = await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-backend-notify'`;
      expect(ended.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await expect.poll(() => seen.links.slice(from).includes(false), { message: 'the link reported down', timeout: 20_000 }).toBe(true);
    await expect.poll(() => seen.links.at(-1), { message: 'the link reported up again', timeout: 20_000 }).toBe(true);
    expect(seen.drops).toEqual([]);
  }, 60_000);
});
