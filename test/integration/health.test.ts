// /health/full against a database that stops answering, disappears, or is behind on
// schema; and handler errors that must not leak internals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';
import { latestVersion, loadMigrations } from '../../src/db/migrate.js';

const latest = latestVersion(await loadMigrations());

async function full(s: ServerProcess) {
  const t0 = performance.now();
  const res = await fetch(`${s.url}/health/full`);
  return { status: res.status, body: await res.json(), ms: performance.now() - t0 };
}

describe('database that stops answering', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let s: ServerProcess;

  beforeAll(async () => {
    tdb = await createMigratedDatabase('health');
    const u = new URL(tdb.url);
    proxy = await startTcpProxy(u.hostname, Number(u.port));
    u.port = String(proxy.port);
    s = await startServer({ ...AUTH_ENV, DATABASE_URL: u.toString(), MIGRATE_ON_START: 'false' }, 'health');
  });

  afterAll(async () => {
    await s?.stop('SIGKILL');
    await proxy?.close();
    await tdb?.drop();
  });

  it('is ready while the database answers', async () => {
    const r = await full(s);
    expect(r.status).toBe(200);
    expect(r.body.checks).toMatchObject({ database: { status: 'ok' }, schema: { status: 'ok', applied: latest, expected: latest }, draining: { status: 'ok' } });
  });

  it('turns 503 naming the database when it does not answer within 1 s', async () => {
    proxy.stall();
    const r = await full(s);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('fail');
    expect(r.body.checks.database).toMatchObject({ status: 'fail', message: 'no answer within 1000 ms' });
    expect(r.body.checks.draining.status).toBe('ok');
    expect(r.ms).toBeGreaterThanOrEqual(900);
    // liveness is about the process, not its dependencies
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('recovers by itself when the database answers again', async () => {
    // Its own outage, so that it passes or fails alone, whatever ran before it.
    proxy.stall();
    const down = await full(s);
    expect(down.status, 'a stalled database must first make /health/full fail').toBe(503);
    expect(down.body.checks.database.status).toBe('fail');
    proxy.resume();
    await expect.poll(async () => (await full(s)).status, { timeout: 10_000 }).toBe(200);
  });

  it('answers API calls with a bare 503 "retry shortly" while the database is gone, leaking nothing', async () => {
    proxy.cut();
    const res = await fetch(`${s.url}/api/v1/conversations`, { headers: bearer(await token('alice')) });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: 'database unavailable; retry shortly' } });
    const r = await full(s);
    expect(r.status).toBe(503);
    expect(r.body.checks.database.status).toBe('fail');
    expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|postgres:/);
    expect(s.child.exitCode).toBeNull();
  });
});

describe('schema behind', () => {
  let tdb: TestDatabase;
  let s: ServerProcess;
  beforeAll(async () => {
    tdb = await createTestDatabase('behind');
    s = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, MIGRATE_ON_START: 'false' }, 'health-behind');
  });
  afterAll(async () => {
    await s?.stop();
    await tdb?.drop();
  });

  it('is not ready until migrate has run, and names the schema check', async () => {
    const before = await full(s);
    expect(before.status).toBe(503);
    expect(before.body.checks.database.status).toBe('ok');
    expect(before.body.checks.schema).toMatchObject({ status: 'fail', applied: null, expected: latest });
    expect(before.body.checks.schema.message).toMatch(/migrate/);
    const m = await runCli(['migrate'], { DATABASE_URL: tdb.url });
    expect(m.code).toBe(0);
    expect((await full(s)).status).toBe(200);
  });
});
