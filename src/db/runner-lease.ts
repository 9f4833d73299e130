// Liveness of run owners, decided by PostgreSQL: each server holds a session advisory
// lock on its runner id for its whole life. If another server can take that lock, its
// owner is gone (crashed, killed, partitioned away) and its streaming answers are
// marked interrupted. A restart therefore reports a kill -9 at once, not after a timeout.
//
// The lock lives on a dedicated one-connection client, not a connection reserved from
// the pool: postgres.js (3.4.9) throws an uncatchable TypeError from nextWrite when a
// query runs on a reserved connection whose backend died, and the pool silently hands a
// reconnected backend (without the lock) to whoever asks. Here a reconnect is seen for
// what it is: the backend pid changed, or pg_locks no longer lists our lock for it.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { Db, Sql } from './client.js';
import { interruptRunner, streamingRunners } from './runner-recovery.js';

export interface Interrupted {
  id: string;
  conversation_id: string;
  run_id: string;
  seq: number;
  content: string;
}

export interface RunnerLease {
  runnerId: bigint;
  // Marks the answers of runners whose lock is free. strict: only runners whose lock was
  // already free at the previous sweep (a live replica re-taking its lock after a
  // reconnect is not mistaken for a dead one).
  sweep(strict?: boolean): Promise<Interrupted[]>;
  // undefined while the lock is held, else a promise that resolves once it is again:
  // nothing may be claimed under our runner id before (no await on the common path).
  held(): Promise<void> | undefined;
  stop(): Promise<void>;
}

export interface LeaseHooks {
  onInterrupted(rows: Interrupted[]): void;
  // The lock was lost (the connection went) and is held again: another replica may have
  // marked our answers interrupted meanwhile; the runs must find out before finishing.
  onRetaken(): Promise<void>;
}

const CONNECT_TIMEOUT_S = 5;
const RENEW_AFTER_FAILURES = 3;

// How long a run waits for the lock to be taken again before it gives up (not started).
const HELD_WAIT_MS = 60_000;

export interface LeaseOptions {
  sweepMs?: number;
  checkMs?: number;
}

export async function startRunnerLease(url: string, db: Db, log: Logger, hooks: LeaseHooks, opts: LeaseOptions = {}): Promise<RunnerLease> {
  const sweepMs = opts.sweepMs ?? 15_000;
  const checkMs = opts.checkMs ?? 1000;
  // 62 random bits: positive in int8, and collisions are out of the question.
  const runnerId = BigInt.asUintN(62, BigInt('0x' + randomBytes(8).toString('hex')));
  const key = runnerId.toString();
  const client = () => postgres(url, {
    max: 1, idle_timeout: 0, max_lifetime: 0, connect_timeout: CONNECT_TIMEOUT_S,
    backoff: () => 0.5, // come back quickly once the database does: others sweep a lock left free
    onnotice: () => undefined,
    connection: { application_name: 'chat-backend-lease' },
  }) as unknown as Sql;
  let conn = client();
  let failures = 0;

  let pid: number | undefined; // the backend holding our lock, while we know it does
  let waiters: (() => void)[] = [];
  const take = async (): Promise<boolean> => {
    const [row] = await conn<{ pid: number; ok: boolean }[]>`SELECT pg_backend_pid() AS pid, pg_try_advisory_lock(${key}::int8) AS ok`;
    if (!row?.ok) return false; // a sweeper holds it this instant; it releases it when done
    pid = row.pid;
    for (const w of waiters.splice(0)) w();
    return true;
  };
  if (!(await take())) throw new Error(`runner lock ${key} is held by another session`);

  // Whether the lock is still ours: same backend as took it, and PostgreSQL lists it.
  const check = async (): Promise<void> => {
    if (pid !== undefined) {
      const [row] = await conn<{ pid: number; held: boolean }[]>`
        SELECT pg_backend_pid() AS pid, EXISTS (
          SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
             AND objsubid = 1 AND ((classid::int8 << 32) | objid::int8) = ${key}::int8) AS held`;
      if (row?.pid === pid && row.held) return;
      log.warn({ was: pid, now: row?.pid }, 'runner lock lost with its connection; taking it again');
      pid = undefined;
    }
    if (await take()) {
      log.info({ pid }, 'runner lock taken again');
      await hooks.onRetaken();
    }
  };

  // Runners seen with a free lock at the previous sweep.
  let suspects = new Set<bigint>();
  let sweeping = false;
  const sweep = async (strict = false): Promise<Interrupted[]> => {
    if (pid === undefined || sweeping) return [];
    sweeping = true;
    const out: Interrupted[] = [];
    const free = new Set<bigint>();
    try {
      for (const other of await streamingRunners(db, runnerId)) {
        const o = other.toString();
        // On our own connection: the lock we take to sweep is released with it if we die.
        const [row] = await conn<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(${o}::int8) AS ok`;
        if (!row?.ok) continue; // its owner is alive
        try {
          free.add(other);
          if (strict && !suspects.has(other)) continue;
          out.push(...(await interruptRunner(db, other)));
        } finally {
          await conn`SELECT pg_advisory_unlock(${o}::int8)`;
        }
      }
    } finally {
      suspects = free;
      sweeping = false;
    }
    if (out.length > 0) log.warn({ answers: out.length }, 'marked answers of a vanished runner as interrupted');
    return out;
  };

  let checking = false;
  const checker = setInterval(() => {
    if (checking) return;
    checking = true;
    check().then(() => { failures = 0; }, (err: unknown) => {
      if (pid !== undefined) log.warn(errInfo(err), 'runner lock check failed; the database may be away');
      pid = undefined; // not known to be held: nothing new is claimed until it is taken again
      // postgres.js 3.4.9 can wedge a connection for good when its socket closes with a
      // write still queued (a stale nextWriteTimer stops every later write): start over
      // with a new client rather than wait on one that may never connect again.
      if (++failures % RENEW_AFTER_FAILURES === 0) {
        const old = conn;
        conn = client();
        void old.end({ timeout: 0 }).catch((e: unknown) => log.debug(errInfo(e), 'ending the old lease client failed'));
      }
    }).finally(() => { checking = false; });
  }, checkMs);
  checker.unref();
  const sweeper = setInterval(() => {
    sweep(true).then(hooks.onInterrupted, (err: unknown) => log.warn(errInfo(err), 'runner sweep failed'));
  }, sweepMs);
  sweeper.unref();

  return {
    runnerId,
    sweep,
    held: () => (pid !== undefined ? undefined : new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`runner lock not held for ${HELD_WAIT_MS} ms: database unavailable`)), HELD_WAIT_MS);
      waiters.push(() => { clearTimeout(t); resolve(); });
    })),
    async stop() {
      clearInterval(checker);
      clearInterval(sweeper);
      for (const w of waiters.splice(0)) w();
      waiters = [];
      // Ending the session releases the lock; an explicit unlock first tells a sweeper
      // at once rather than when the socket closes.
      await conn`SELECT pg_advisory_unlock(${key}::int8)`.catch((err: unknown) => log.debug(errInfo(err), 'runner unlock on stop failed'));
      await conn.end({ timeout: 2 });
    },
  };
}
