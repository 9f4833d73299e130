// Liveness of run owners, decided by PostgreSQL: each server holds a session advisory
// lock on its runner id for its whole life. If another server can take that lock, its
// owner is gone (crashed, killed, partitioned away) and its streaming answers are
// marked interrupted. A restart therefore reports a kill -9 at once, not after a timeout.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { Db } from './client.js';
import { interruptRunner, streamingRunners } from './runs.js';

export interface Interrupted {
  id: string;
  conversation_id: string;
  run_id: string;
  seq: number;
}

export interface RunnerLease {
  runnerId: bigint;
  sweep(): Promise<Interrupted[]>;
  stop(): Promise<void>;
}

type Reserved = Awaited<ReturnType<Db['sql']['reserve']>>;

export async function startRunnerLease(db: Db, log: Logger, onInterrupted: (rows: Interrupted[]) => void, sweepMs = 15_000): Promise<RunnerLease> {
  // 62 random bits: positive in int8, and collisions are out of the question.
  const runnerId = BigInt.asUintN(62, BigInt('0x' + randomBytes(8).toString('hex')));
  let holder: Reserved | undefined;
  const hold = async () => {
    holder = await db.sql.reserve();
    await holder`SELECT pg_advisory_lock(${runnerId.toString()}::int8)`;
  };
  await hold();

  const sweep = async (): Promise<Interrupted[]> => {
    const out: Interrupted[] = [];
    for (const other of await streamingRunners(db, runnerId)) {
      const c = await db.sql.reserve();
      try {
        const [row] = await c<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(${other.toString()}::int8) AS ok`;
        if (!row?.ok) continue; // its owner is alive
        try {
          out.push(...(await interruptRunner(db, other)));
        } finally {
          await c`SELECT pg_advisory_unlock(${other.toString()}::int8)`;
        }
      } finally {
        c.release();
      }
    }
    if (out.length > 0) log.warn({ answers: out.length }, 'marked answers of a vanished runner as interrupted');
    return out;
  };

  const timer = setInterval(() => {
    void (async () => {
      try {
        await holder!`SELECT 1`;
      } catch (err) {
        // The lock went with the connection; take it again on a fresh one.
        log.warn(errInfo(err), 'runner lease connection lost; re-acquiring');
        holder?.release();
        await hold();
      }
      onInterrupted(await sweep());
    })().catch((err: unknown) => log.warn(errInfo(err), 'runner sweep failed'));
  }, sweepMs);
  timer.unref();

  return {
    runnerId,
    sweep,
    async stop() {
      clearInterval(timer);
      if (!holder) return;
      try {
        await holder`SELECT pg_advisory_unlock(${runnerId.toString()}::int8)`;
      } finally {
        holder.release();
      }
    },
  };
}
