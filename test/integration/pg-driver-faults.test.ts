// The PostgreSQL driver's own connection handling when backends go away, on a real
// PostgreSQL: the defects scripts/patch-postgres.mjs patches in postgres.js 3.4.9 (an
// immediate restart of PostgreSQL hit them in the server). A connection whose backend was
// terminated replayed the old backend's error on the first query after it reconnected, or
// could not write again; killed while it fetched array types, it also ended the process
// with an unhandled rejection; a statement sent between its reset and its close hung it.
// Also a network stall and then a cut under a statement, which the driver survives unpatched.
import net from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

type Sql = postgres.Sql<Record<string, never>>;
const code = (err: unknown) => (err as { code?: string }).code ?? String(err);

let t: TestDatabase;
let admin: Sql;

beforeAll(async () => {
  t = await createTestDatabase('drv');
  admin = postgres(t.url, { max: 1, onnotice: () => undefined }) as unknown as Sql;
});

afterAll(async () => {
  await admin?.end();
  await t?.drop();
});

describe('postgres.js when its backends are terminated', () => {
  it('connections whose backends were terminated answer the next queries, not with the old error', async () => {
    const app = `drv-write-${process.pid}`;
    const sql = postgres(t.url, { max: 2, connect_timeout: 3, onnotice: () => undefined, connection: { application_name: app } }) as unknown as Sql;
    try {
      // both connections open: one waits in a statement, the other idles
      const ready = Promise.all([sql`SELECT 1`, sql`SELECT 2`]);
      await ready;
      let retried: Promise<string> | undefined;
      const busy = sql`SELECT pg_sleep(30)`.then(() => 'ok', (err: unknown) => {
        // What any caller may do on a lost statement: send the next one at once. It goes
        // to the idle connection, whose socket is closing in this same turn.
        retried = sql`SELECT 3`.then(() => 'ok', code);
        return code(err);
      });
      await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = ${app} AND state = 'active'`)[0]!.n, { timeout: 10_000, interval: 50 }).toBe(1);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${app}`;
      expect(await busy).not.toBe('ok');
      await expect.poll(() => retried !== undefined, { timeout: 5_000, interval: 20 }).toBe(true);
      await retried;
      // Every connection of the pool answers again (unpatched, a reconnected one fails its
      // first query with the 57P01 its old backend sent before it closed).
      for (let i = 0; i < 3; i++) {
        const out = await Promise.all([1, 2].map((n) => sql`SELECT ${n}::int AS n, pg_sleep(0.05)`.then(() => 'ok', code)));
        expect(out).toEqual(['ok', 'ok']);
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 60_000);

  it('a connection killed while it fetches array types reconnects and runs the query, with no unhandled rejection', async () => {
    const proxy = await typesKiller(new URL(t.url));
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    const u = new URL(t.url);
    u.host = `127.0.0.1:${proxy.port}`;
    const sql = postgres(u.toString(), { max: 1, connect_timeout: 5, onnotice: () => undefined }) as unknown as Sql;
    try {
      // unpatched: the query fails with the first backend's 57P01 although the driver
      // reconnected, and that error also escapes as an unhandled rejection
      const rows = await sql<{ n: number }[]>`SELECT ${7}::int AS n`;
      expect(rows[0]!.n).toBe(7);
      expect(proxy.killed()).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(unhandled.map(code)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  }, 30_000);

  it('a query sent between a reset and the close of its connection is refused, not carried to the next backend', async () => {
    const target = new URL(t.url);
    const proxy = await startTcpProxy('127.0.0.1', Number(target.port));
    const u = new URL(t.url);
    u.host = `127.0.0.1:${proxy.port}`;
    const sql = postgres(u.toString(), { max: 1, connect_timeout: 5, onnotice: () => undefined }) as unknown as Sql;
    try {
      await sql`SELECT 1`;
      let next: Promise<string> | undefined;
      const busy = sql`SELECT pg_sleep(30)`.then(() => 'ok', (err: unknown) => {
        // sent at once, on the same connection: its socket errored and has not closed yet
        next = sql<{ n: number }[]>`SELECT ${2}::int AS n`.then((r) => `n=${r[0]!.n}`, code);
        return code(err);
      });
      await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'`)[0]!.n, { timeout: 10_000, interval: 50 }).toBe(1);
      expect(proxy.cut()).toBe(1);
      expect(await busy).not.toBe('ok');
      // unpatched: it stays queued on the connection across the reconnect, never settles,
      // and every later statement on that connection waits behind it for good
      expect(await next).toBe('CONNECTION_CLOSED');
      proxy.resume();
      for (const n of [3, 4, 5]) expect((await sql<{ n: number }[]>`SELECT ${n}::int AS n`)[0]!.n).toBe(n);
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'`;
    }
  }, 60_000);

  // The driver is not at fault for the "prepared statement … already exists" (42P05) a
  // replica behind the proxy hit after a stall and a cut: the proxy's resume() piped an
  // already-forwarding connection a second time, so PostgreSQL got each Parse twice. The
  // pristine driver passes this too; it fails when a resume() duplicates bytes.
  it('a pool with a statement in flight through a stall and a cut answers every later statement on every connection', async () => {
    const target = new URL(t.url);
    const proxy = await startTcpProxy('127.0.0.1', Number(target.port));
    const app = `drv-stall-${process.pid}`;
    const u = new URL(t.url);
    u.host = `127.0.0.1:${proxy.port}`;
    const sql = postgres(u.toString(), { max: 2, connect_timeout: 5, onnotice: () => undefined, connection: { application_name: app } }) as unknown as Sql;
    const both = (a: number, b: number) => Promise.all([a, b].map((n) => sql<{ n: number }[]>`SELECT ${n}::int AS n, pg_sleep(0.05)`
      .then((r) => r[0]!.n, code)));
    try {
      expect(await both(1, 2)).toEqual([1, 2]); // both connections open, the statement prepared on each
      const busy = sql`SELECT pg_sleep(${30})`.then(() => 'ok', code);
      await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = ${app} AND state = 'active'`)[0]!.n, { timeout: 10_000, interval: 50 }).toBe(1);
      proxy.stall();
      const held = sql<{ n: number }[]>`SELECT ${3}::int AS n`.then((r) => r[0]!.n, code); // written, never delivered
      expect(proxy.cut()).toBe(2);
      expect(await busy).not.toBe('ok');
      expect(await held).not.toBe(3);
      proxy.resume();
      for (let i = 0; i < 4; i++) {
        // resumed once more, as a suite's cleanup does, over the connections made since
        if (i === 1) proxy.resume();
        expect(await both(4 + i, 5 + i)).toEqual([4 + i, 5 + i]);
        expect((await sql<{ s: string }[]>`SELECT ${`round ${i}`}::text AS s`)[0]!.s).toBe(`round ${i}`);
      }
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${app}`;
    }
  }, 60_000);
});

// A proxy to PostgreSQL that, on its first connection only, answers the driver's
// array-types query the way a terminated backend does (FATAL 57P01, then a close).
async function typesKiller(target: URL): Promise<{ port: number; killed(): number; close(): Promise<void> }> {
  let killed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const first = killed === 0;
    upstream.pipe(client);
    client.on('data', (b: Buffer) => {
      if (first && killed === 0 && b.includes('pg_catalog.pg_type')) {
        killed++;
        client.end(errorResponse('57P01', 'terminating connection due to administrator command'));
        upstream.destroy();
        return;
      }
      upstream.write(b);
    });
    const drop = () => { client.destroy(); upstream.destroy(); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    killed: () => killed,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

function errorResponse(sqlstate: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', sqlstate], ['M', message]].map(([k, v]) => Buffer.from(`${k}${v}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}
