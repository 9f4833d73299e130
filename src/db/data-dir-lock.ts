// One server per embedded data directory. The server that runs its PostgreSQL writes
// owner.json (pid and URL, mode 0600) with an exclusive create; a second process finds
// it, sees the owner alive, and must not touch that PostgreSQL (serve refuses, migrate
// connects to it). An owner that is gone (SIGKILL) leaves a stale file, which the next
// start takes over, and then stops the orphaned PostgreSQL as before.
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface DirOwner {
  pid: number;
  url: string;
  started_at: string;
}

export class DataDirInUse extends Error {
  constructor(readonly dir: string, readonly owner: DirOwner) {
    super(`${dir} is in use by the chat-backend server running as pid ${owner.pid} (since ${owner.started_at}); stop it first, or use another DATA_DIR, or set DATABASE_URL`);
    this.name = 'DataDirInUse';
  }
}

export interface DirLock {
  setUrl(url: string): Promise<void>;
  release(): Promise<void>;
}

const FILE = 'owner.json';

export async function lockDataDir(dir: string): Promise<DirLock> {
  const file = path.join(dir, FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      const write = async (url: string) => {
        await fh.truncate(0);
        await fh.write(JSON.stringify({ pid: process.pid, url, started_at: new Date().toISOString() } satisfies DirOwner), 0);
        await fh.sync();
      };
      await write('');
      return {
        setUrl: write,
        release: async () => {
          await fh.close();
          await unlink(file).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(file);
    if (owner && owner.pid !== process.pid && isChatBackend(owner.pid)) throw new DataDirInUse(dir, owner);
    await unlink(file).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; }); // stale: its server is gone
  }
  throw new Error(`could not take ${file}: another process keeps creating it`);
}

async function readOwner(file: string): Promise<DirOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(file, 'utf8')) as Partial<DirOwner>;
    return typeof o.pid === 'number' ? { pid: o.pid, url: o.url ?? '', started_at: o.started_at ?? 'unknown' } : undefined;
  } catch {
    return undefined; // half-written or garbage: a crash while writing it; treated as stale
  }
}

// Alive, and (where /proc tells) still a chat-backend process, not a reused pid.
function isChatBackend(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /main\.(ts|js)|chat-backend/.test(cmd);
  } catch {
    return true; // no /proc: trust the pid
  }
}
