// A PostgreSQL a fault test owns outright, driven by pg_ctl: restarted with
// `-m immediate`, stopped and started again on the same port, never the run's shared one;
// and a streaming standby of it, promoted to take over.
// Debian's PostgreSQL 15 (installed by .ci/run); as root it runs as user "postgres".
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb } from '../../src/db/client.js';
import { freePort } from '../../src/db/embedded.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface FaultPostgres {
  port: number;
  url: string; // the chat_backend database, as user postgres
  restartImmediate(): Promise<void>;
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  promote(): Promise<void>; // a standby becomes a primary (pg_ctl promote)
  destroy(): Promise<void>;
}

// The unprivileged user PostgreSQL (and PgBouncer) run as when the tests run as root.
export function pgOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function run(cmd: string, args: string[], as: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', reject);
    // 'exit', not 'close': the postmaster pg_ctl starts may inherit the pipes
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))));
  });
}

export function faultPostgresAvailable(): string | undefined {
  return existsSync(path.join(PG_BIN, 'pg_ctl')) ? undefined : `PostgreSQL 15 binaries not found in ${PG_BIN} (apt-get install postgresql-15)`;
}

export async function startFaultPostgres(): Promise<FaultPostgres> {
  const as = pgOwner();
  const dir = await ownedDir(as);
  const pgdata = path.join(dir, 'pgdata');
  const pw = path.join(dir, 'pw');
  await writeFile(pw, 'fault\n');
  if (as) await chown(pw, as.uid, as.gid);
  await run(path.join(PG_BIN, 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pw}`, '-E', 'UTF8', '--locale=C'], as);
  const pg = await cluster(dir, pgdata, as);
  const { default: postgres } = await import('postgres');
  const admin = postgres(pg.url.replace(/\/chat_backend$/, '/postgres'), { max: 1, onnotice: () => undefined });
  await admin.unsafe('CREATE DATABASE chat_backend');
  await admin.end();
  return pg;
}

// A streaming-replication standby of primary (pg_basebackup -R: its primary_conninfo and
// standby.signal), started on a port of its own; promote() makes it a primary.
export async function startFaultStandby(primary: FaultPostgres): Promise<FaultPostgres> {
  const as = pgOwner();
  const dir = await ownedDir(as);
  const pgdata = path.join(dir, 'pgdata');
  await run(path.join(PG_BIN, 'pg_basebackup'), ['-D', pgdata, '-R', '-X', 'stream', '-c', 'fast',
    '-d', `host=127.0.0.1 port=${primary.port} user=postgres password=fault application_name=standby`], as);
  return cluster(dir, pgdata, as);
}

async function ownedDir(as: { uid: number; gid: number } | undefined): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-fault-pg-'));
  await chmod(dir, 0o755);
  if (as) await chown(dir, as.uid, as.gid);
  return dir;
}

// Starts the cluster in pgdata on a free loopback port and returns its controls.
async function cluster(dir: string, pgdata: string, as: { uid: number; gid: number } | undefined): Promise<FaultPostgres> {
  const logFile = path.join(dir, 'postgres.log');
  const port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 -c fsync=off`;
  const pgCtl = (...args: string[]) => run(path.join(PG_BIN, 'pg_ctl'), ['-D', pgdata, ...args], as);
  const start = async () => { await pgCtl('-w', '-t', '60', '-l', logFile, '-o', opts, 'start'); };
  await start();
  return {
    port,
    url: `postgres://postgres:fault@127.0.0.1:${port}/chat_backend`,
    restartImmediate: async () => { await pgCtl('-w', '-t', '60', '-m', 'immediate', '-l', logFile, '-o', opts, 'restart'); },
    stop: async (mode = 'immediate') => { await pgCtl('-w', '-m', mode, 'stop'); },
    start,
    promote: async () => { await pgCtl('-w', '-t', '60', 'promote'); },
    destroy: async () => {
      await pgCtl('-w', '-m', 'immediate', 'stop').catch(() => undefined); // already stopped is fine
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// A fault PostgreSQL with the schema applied, as the fault suites start it.
export async function startMigratedFaultPostgres(): Promise<FaultPostgres> {
  const pg = await startFaultPostgres();
  const db = createDb(pg.url, { max: 2 });
  try {
    await migrate(db, await loadMigrations());
  } finally {
    await db.end();
  }
  return pg;
}
