// The pgvector document search while its connections are lost under it. The searches are
// held in PostgreSQL (a lock on embeddings, seen in pg_locks) so the fault lands on
// statements in flight, every time: the network to the database cut, and PostgreSQL
// restarted (immediate) under searches on two replicas. The process must not exit
// (postgres.js 3.4.9 can end it when a statement inside sql.begin() is lost, and, unpatched,
// when a new connection is killed while it fetches array types: see
// scripts/patch-postgres.mjs), each search answers (503 "unavailable"), and searching works
// again once the database is back.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultPostgresAvailable, startMigratedFaultPostgres, type FaultPostgres } from '../helpers/fault-pg.js';
import { pgvectorUnavailable } from '../helpers/pgvector.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { skipOrFail } from '../helpers/skip.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';

const skip = skipOrFail(faultPostgresAvailable() ?? pgvectorUnavailable(), (r) => `the search fault suite cannot run under CI: ${r}`);
const SEARCHES = 4;

type Sql = postgres.Sql<Record<string, never>>;
let pg: FaultPostgres;
let admin: Sql;
let proxy: TcpProxy;
let s: ServerProcess;
let s2: ServerProcess; // a second replica, straight to PostgreSQL
let carol: string;

describe.skipIf(skip !== undefined)('the pgvector search while the database goes away under it', () => {
  beforeAll(async () => {
    pg = await startMigratedFaultPostgres();
    admin = postgres(pg.url, { max: 1, onnotice: () => undefined }) as unknown as Sql;
    proxy = await startTcpProxy('127.0.0.1', pg.port);
    s = await startServer({ ...AUTH_ENV, DATABASE_URL: `postgres://postgres:fault@127.0.0.1:${proxy.port}/chat_backend`, HEALTH_DB_TIMEOUT_MS: '1000' }, 'fault-search');
    expect(JSON.parse(s.lines.find((l) => l.includes('"msg":"document search ready"'))!)).toMatchObject({ vector_mode: 'pgvector' });
    s2 = await startServer({ ...AUTH_ENV, DATABASE_URL: pg.url, HEALTH_DB_TIMEOUT_MS: '1000' }, 'fault-search-2');
    carol = await token('carol');
    const res = await fetch(`${s.url}/api/v1/documents`, {
      method: 'POST', headers: { ...bearer(carol), 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Kettle', content: 'Descale the kettle with vinegar every month.' }),
    });
    expect(res.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await s2?.stop();
    await proxy?.close();
    await admin?.end();
    await pg?.destroy();
  });

  const search = async (on: ServerProcess = s) => {
    const res = await fetch(`${on.url}/api/v1/documents/search?q=${encodeURIComponent('descale kettle')}`, { headers: bearer(carol) });
    return { status: res.status, body: await res.json() as { hits?: { title: string }[]; error?: { code: string } } };
  };

  // Searches waiting on a lock the test holds, as PostgreSQL reports them.
  async function searchesHeld(on: ServerProcess[] = [s]): Promise<Promise<Awaited<ReturnType<typeof search>>>[]> {
    await admin.unsafe('BEGIN; LOCK TABLE embeddings IN ACCESS EXCLUSIVE MODE');
    const pending = on.flatMap((r) => Array.from({ length: SEARCHES }, () => search(r)));
    // (pg_locks, not pg_stat_activity: a statement waiting in its Parse step is not shown there)
    await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_locks
      WHERE relation = 'embeddings'::regclass AND NOT granted`)[0]!.n,
    { timeout: 30_000, interval: 100 }).toBe(SEARCHES * on.length);
    return pending;
  }

  // Searching works again, by itself; a process that exited fails at once, with its stderr.
  async function expectBack(on: ServerProcess = s): Promise<void> {
    const alive = () => expect({ code: on.child.exitCode, signal: on.child.signalCode }, on.stderr()).toEqual({ code: null, signal: null });
    await expect.poll(async () => {
      alive();
      const r = await search(on).catch((err: unknown) => ({ status: 0, body: { error: { code: String(err) } } } as Awaited<ReturnType<typeof search>>));
      return `${r.status} ${r.body.hits?.[0]?.title}`;
    }, { timeout: 60_000, interval: 250 }).toBe('200 Kettle');
    alive();
  }

  it('answers before any fault', async () => {
    await expectBack();
  });

  it('the network to the database cut under searches in flight, then restored', async () => {
    const pending = await searchesHeld();
    expect(proxy.cut()).toBeGreaterThan(0);
    for (const r of await Promise.all(pending)) expect(r).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    await admin.unsafe('ROLLBACK');
    proxy.resume();
    await expectBack();
  }, 120_000);

  // Every search answers well inside the test's time, whether it was in flight at the
  // restart or sent while PostgreSQL came back (unpatched, a replica could exit on an
  // unhandled rejection, and a pooled connection could fail each later query after its
  // connect timeout, or with the old backend's error).
  it('PostgreSQL restarted (immediate) under searches in flight on two replicas', async () => {
    const answered = (p: Promise<Awaited<ReturnType<typeof search>>>) => Promise.race([
      p.then((r) => `${r.status} ${r.body.error?.code ?? r.body.hits?.[0]?.title}`, (err: unknown) => `no HTTP answer: ${String(err)}`),
      new Promise<string>((r) => setTimeout(() => r('no answer within 30 s'), 30_000).unref()),
    ]);
    const pending = await searchesHeld([s, s2]);
    let restarting = true;
    const during: Promise<string>[] = [];
    const storm = (async () => {
      while (restarting) {
        const round = [s, s2].map((r) => answered(search(r)));
        during.push(...round);
        await Promise.all(round);
      }
    })();
    await pg.restartImmediate();
    restarting = false;
    await storm;
    for (const r of await Promise.all(pending.map(answered))) expect(r).toBe('503 unavailable');
    for (const r of await Promise.all(during)) expect(r).toMatch(/^(503 unavailable|200 Kettle)$/);
    await expectBack(s);
    await expectBack(s2);
    // and again, all at once, on every connection of each pool
    for (const r of await Promise.all([s, s2].flatMap((on) => Array.from({ length: 12 }, () => answered(search(on)))))) expect(r).toBe('200 Kettle');
  }, 120_000);
});
