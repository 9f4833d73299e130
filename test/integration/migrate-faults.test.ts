// `chat-backend migrate` (the schema Job) when PostgreSQL restarts under it. The migration
// is held in PostgreSQL (a lock on schema_migrations, seen in pg_locks) so the restart lands
// on a statement in flight, every time. The command must fail with the database's own error,
// not the driver's TypeError on a null socket (which a connection reserved from the pool
// produced), and a second run must then apply everything.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/db/migrate.js';
import { faultPostgresAvailable, startFaultPostgres, type FaultPostgres } from '../helpers/fault-pg.js';
import { runCli } from '../helpers/server.js';
import { skipOrFail } from '../helpers/skip.js';

const skip = skipOrFail(faultPostgresAvailable(), (r) => `the migrate fault suite cannot run under CI: ${r}`);

type Sql = postgres.Sql<Record<string, never>>;
let pg: FaultPostgres;
let admin: Sql;

describe.skipIf(skip !== undefined)('migrate while PostgreSQL restarts under it', () => {
  beforeAll(async () => {
    pg = await startFaultPostgres();
    admin = postgres(pg.url, { max: 1, onnotice: () => undefined }) as unknown as Sql;
  }, 120_000);

  afterAll(async () => {
    await admin?.end({ timeout: 0 });
    await pg?.destroy();
  });

  it('fails with the database error, then a second run applies every migration', async () => {
    // the table migrate creates, made first so a lock on it can hold the migration
    await admin`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    await admin.unsafe('BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
    const run = runCli(['migrate'], { DATABASE_URL: pg.url, LOG_LEVEL: 'warn' });
    await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_locks
      WHERE relation = 'schema_migrations'::regclass AND NOT granted`)[0]!.n, { timeout: 60_000, interval: 100 }).toBe(1);
    await pg.restartImmediate();
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toMatch(/Cannot read properties of null/);
    // the connection's own error, whichever way the restart reached it
    expect(r.stdout + r.stderr).toMatch(/terminating connection|database system is|CONNECTION_|ECONNRESET|ECONNREFUSED/);

    const again = await runCli(['migrate'], { DATABASE_URL: pg.url, LOG_LEVEL: 'warn' });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${(await loadMigrations()).length} applied, 0 already applied`);
  }, 180_000);
});
