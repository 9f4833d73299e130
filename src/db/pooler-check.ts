// chat-backend holds session state on its connections: the runner's advisory lock and
// the bus's LISTEN. Behind a pooler in transaction or statement mode (PgBouncer's
// pool_mode=transaction|statement) each statement may run on another server session, so
// the lock and the LISTEN would silently belong to nobody. Detected at start-up by what
// only such a pooler does: a backend (pg_backend_pid) that one client connection used is
// handed to another client while the first is still connected, or a client's backend
// changes between two statements. PgBouncer hands out the most recently released server
// connection first, so a second client opening a transaction right after the first
// client's statement lands on that very backend.
import postgres from 'postgres';
import type { Sql } from './client.js';

export class TransactionPoolingError extends Error {
  constructor(detail: string) {
    super(`DATABASE_URL points at a connection pooler in transaction or statement pooling mode (PgBouncer pool_mode=transaction/statement): ${detail}. `
      + 'chat-backend keeps a session advisory lock per server and LISTENs for other replicas, which need one server session per client connection: '
      + 'use pool_mode=session for this database, or connect to PostgreSQL directly');
    this.name = 'TransactionPoolingError';
  }
}

const ROUNDS = 3;

export async function assertSessionPooling(url: string): Promise<void> {
  // prepare: false, so the probe itself works behind any pooler.
  const opts = { max: 1, prepare: false, idle_timeout: 0, max_lifetime: 0, connect_timeout: 10, onnotice: () => undefined, connection: { application_name: 'chat-backend-pooler-check' } };
  const first = postgres(url, opts) as unknown as Sql;
  const second = postgres(url, opts) as unknown as Sql;
  const pidOf = async (c: Sql) => (await c<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
  try {
    const mine = await pidOf(first);
    for (let i = 0; i < ROUNDS; i++) {
      try {
        await second.unsafe('BEGIN');
      } catch (err) {
        if (/statement mode/i.test((err as Error).message)) throw new TransactionPoolingError('a transaction was refused ("statement mode")');
        throw err;
      }
      const theirs = await pidOf(second);
      const again = await pidOf(first);
      await second.unsafe('COMMIT');
      if (theirs === mine) throw new TransactionPoolingError(`another client connection was given this connection's server session (backend pid ${mine})`);
      if (again !== mine) throw new TransactionPoolingError(`one client connection ran on backend pid ${mine}, then on ${again}`);
    }
  } finally {
    await Promise.all([first.end({ timeout: 1 }), second.end({ timeout: 1 })]);
  }
}
