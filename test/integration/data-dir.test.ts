// An embedded data directory belongs to one server: a second `serve` refuses naming the
// running one, `migrate` applies to the running server's PostgreSQL, and the PostgreSQL
// of a server killed with SIGKILL is still cleaned up by the next start.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../../src/db/embedded.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV } from '../helpers/tokens.js';

let dataDir: string;
const servers: ServerProcess[] = [];

const postmasterPid = async () => Number((await readFile(path.join(dataDir, 'postgres/pgdata/postmaster.pid'), 'utf8')).split('\n')[0]);
const healthy = async (s: ServerProcess) => (await fetch(`${s.url}/health/full`)).status;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-datadir-'));
  await chmod(dataDir, 0o755); // as root, PostgreSQL runs as "postgres" and must enter it
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  // whatever PostgreSQL a killed server left behind
  if (existsSync(path.join(dataDir, 'postgres/pgdata/postmaster.pid'))) {
    const pid = await postmasterPid();
    if (alive(pid)) process.kill(pid, 'SIGQUIT');
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('one server per DATA_DIR', () => {
  let first: ServerProcess;

  it('a second serve on the same DATA_DIR refuses, naming the running server, and leaves it running', async () => {
    first = await startServer({ ...AUTH_ENV, DATA_DIR: dataDir }, 'datadir-1');
    servers.push(first);
    const pg = await postmasterPid();
    const second = await runCli(['serve'], { ...AUTH_ENV, DATA_DIR: dataDir, PORT: '0', METRICS_PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`in use by the chat-backend server running as pid ${first.child.pid}`);
    expect(await healthy(first)).toBe(200);
    expect(await postmasterPid()).toBe(pg);
    expect(alive(pg)).toBe(true);
  }, 90_000);

  it('migrate while it runs applies to the running server\'s PostgreSQL and stops nothing', async () => {
    const pg = await postmasterPid();
    const r = await runCli(['migrate'], { DATA_DIR: dataDir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/schema ok: 0 applied, \d+ already applied/);
    expect(alive(pg)).toBe(true);
    expect(await healthy(first)).toBe(200);
  }, 60_000);

  it('after the server is killed with SIGKILL, the next start stops its orphaned PostgreSQL and serves', async () => {
    const orphan = await postmasterPid();
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');
    expect(alive(orphan)).toBe(true); // nothing stopped it: its server could not
    const next = await startServer({ ...AUTH_ENV, DATA_DIR: dataDir }, 'datadir-2');
    servers.push(next);
    expect(alive(orphan)).toBe(false);
    expect(await postmasterPid()).not.toBe(orphan);
    expect(await healthy(next)).toBe(200);
    expect((await next.stop()).code).toBe(0);
    expect(existsSync(path.join(dataDir, 'postgres/owner.json'))).toBe(false);
  }, 90_000);
});
