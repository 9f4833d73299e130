// A failover to a new primary behind the same address, with real streaming replication:
// a primary and a standby made from it with pg_basebackup -R, replicating synchronously
// (synchronous_standby_names), so a commit (an ack, a stored answer chunk) is flushed on the
// standby before the server hears of it. Two replicas stream answers through TCP proxies
// (the address the servers know) to the primary; the primary dies (immediate stop), the
// standby is promoted, and the proxies are pointed at it. After: no process exited, every
// acked message is on the new primary exactly once with gap-free seq, nothing is left
// streaming, and each client's transcript equals the new primary's rows.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { faultPostgresAvailable, startFaultPostgres, startFaultStandby, type FaultPostgres } from '../helpers/fault-pg.js';
import { faultWorld, type FaultCtx } from '../helpers/fault-world.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { skipOrFail } from '../helpers/skip.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';

const skip = skipOrFail(faultPostgresAvailable(), (r) => `the failover suite cannot run under CI: ${r}`);

type Sql = postgres.Sql<Record<string, never>>;
let primary: FaultPostgres;
let standby: FaultPostgres;
let onPrimary: Sql;
let onStandby: Sql;
let proxyA: TcpProxy;
let proxyB: TcpProxy;
let a: ServerProcess;
let b: ServerProcess;

const admin = (url: string) => postgres(url, { max: 2, onnotice: () => undefined }) as unknown as Sql;

describe.skipIf(skip !== undefined)('failover to a promoted synchronous standby with two replicas streaming', () => {
  const ctx = {} as FaultCtx;
  const { streaming, expectOutageReported, retaken, mark, verify } = faultWorld(ctx);

  beforeAll(async () => {
    primary = await startFaultPostgres();
    const db = createDb(primary.url, { max: 2 });
    await migrate(db, await loadMigrations());
    await db.end();
    standby = await startFaultStandby(primary);
    onPrimary = admin(primary.url);
    onStandby = admin(standby.url);
    await onPrimary`ALTER SYSTEM SET synchronous_standby_names = '*'`;
    await onPrimary`SELECT pg_reload_conf()`;
    // (expect.poll is for tests, not hooks)
    for (let i = 0; ; i++) {
      const rows = await onPrimary<{ s: string }[]>`SELECT state || '/' || sync_state AS s FROM pg_stat_replication`;
      if (rows.length === 1 && rows[0]!.s === 'streaming/sync') break;
      if (i > 300) throw new Error(`the standby is not streaming synchronously: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    [proxyA, proxyB] = await Promise.all([startTcpProxy('127.0.0.1', primary.port), startTcpProxy('127.0.0.1', primary.port)]);
    const env = (proxy: TcpProxy) => ({
      ...AUTH_ENV, DATABASE_URL: `postgres://postgres:fault@127.0.0.1:${proxy.port}/chat_backend`,
      AGENT_TOKEN_DELAY_MS: '40', RUNNER_SWEEP_MS: '2500', HEALTH_DB_TIMEOUT_MS: '1000',
    });
    [a, b] = await Promise.all([startServer(env(proxyA), 'failover-a'), startServer(env(proxyB), 'failover-b')]);
    Object.assign(ctx, { a, b, admin: onPrimary, alice: await token('alice') });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([proxyA?.close(), proxyB?.close()]);
    await Promise.all([onPrimary?.end({ timeout: 0 }), onStandby?.end()]);
    await Promise.all([primary?.destroy(), standby?.destroy()]);
  });

  it('the primary stopped (immediate), the standby promoted, the proxies pointed at it', async () => {
    const w = await streaming();
    // The standby is read-only and replaying before the failover.
    expect((await onStandby<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`)[0]!.r).toBe(true);
    await primary.stop('immediate');
    await Promise.all([expectOutageReported(a), expectOutageReported(b)]);
    const [ma, mb] = mark();
    await standby.promote();
    expect((await onStandby<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`)[0]!.r).toBe(false);
    proxyA.retarget(standby.port);
    proxyB.retarget(standby.port);
    ctx.admin = onStandby;
    await Promise.all([retaken(a, ma), retaken(b, mb)]);
    await verify(w, []);
  }, 240_000);
});
