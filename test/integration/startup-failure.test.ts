// A start-up that fails at a late step releases everything it had opened: the embedded
// PostgreSQL is stopped and its DATA_DIR free again, the pool's connections are closed, and
// the error that stopped it is the one reported. In process, so what is left open shows.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { alive } from '../../src/db/embedded.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { AUTH_ENV } from '../helpers/tokens.js';

const log = createLogger('silent');

function config(env: Record<string, string>): Config {
  const parsed = parseConfig({ PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config;
}


describe('a start-up failing after the embedded PostgreSQL started', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-startfail-'));
    await chmod(dataDir, 0o755); // as root, PostgreSQL runs as "postgres" and must enter it
  });
  afterAll(async () => {
    const pidFile = path.join(dataDir, 'postgres/pgdata/postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      if (alive(pid)) process.kill(pid, 'SIGQUIT');
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops PostgreSQL and frees DATA_DIR, reporting the step that failed', async () => {
    // The development secret is read after PostgreSQL started and the schema was migrated:
    // a directory where the secret file belongs makes that step fail.
    await mkdir(path.join(dataDir, 'dev-jwt-secret'));
    const cfg = config({ DATA_DIR: dataDir });
    await expect(startServer(cfg, log)).rejects.toMatchObject({ code: 'EISDIR' });
    const pidFile = path.join(dataDir, 'postgres/pgdata/postmaster.pid');
    const pid = existsSync(pidFile) ? Number((await readFile(pidFile, 'utf8')).split('\n')[0]) : undefined;
    expect(pid === undefined || !alive(pid), `the embedded PostgreSQL (pid ${pid}) was left running`).toBe(true);

    // The same DATA_DIR starts again in this very process: nothing holds its lock.
    await rm(path.join(dataDir, 'dev-jwt-secret'), { recursive: true });
    const server = await startServer(cfg, log);
    expect((await fetch(`http://127.0.0.1:${server.port}/health/full`)).status).toBe(200);
    await server.shutdown();
  }, 120_000);
});

describe('a start-up failing at the last step', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('startfail');
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('closes the pool and the runner lease when the HTTP port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(startServer(config({ ...AUTH_ENV, DATABASE_URL: tdb.url, PORT: String(port) }), log)).rejects.toThrow(String(port));
    } finally {
      taken.close();
    }
    const admin = postgres(tdb.url, { max: 1, onnotice: () => undefined });
    try {
      const left = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${tdb.name} AND pid <> pg_backend_pid()`;
      expect(left[0]!.n, 'connections of the failed start-up were left open').toBe(0);
    } finally {
      await admin.end();
    }
  }, 60_000);
});
