// The PostgreSQL pool and the one wrapper every named query goes through, so query
// latency is measured per query name without each module repeating the timing code.
import postgres from 'postgres';
import type { Metrics } from '../metrics/metrics.js';

// The driver's client without sql.begin() and sql.reserve(): postgres.js 3.4.9 pins a
// connection for both, and when that connection's socket closes under a query (database
// restarted, network cut) its ROLLBACK or next query is written to the null socket from a
// setImmediate, an uncaught TypeError that ends the process (porsager/postgres#1208). A
// transaction is one statement (a CTE, or set_config(..., true) inside it); a session of
// our own is Db.session(), a one-connection client the pool never hands out.
export type Sql = postgres.Sql<Record<string, never>> & { begin: never; reserve: never };

export interface Db {
  sql: Sql;
  timed<T>(name: string, run: (sql: Sql) => Promise<T>): Promise<T>;
  // Runs on a dedicated one-connection client, ended afterwards: its session (advisory
  // locks, several statements in order) is ours alone. A connection lost under it fails
  // the statement; the driver may reconnect for the next one, so whoever holds a session
  // lock checks pg_backend_pid() before relying on it.
  session<T>(name: string, run: (conn: Sql) => Promise<T>): Promise<T>;
  end(timeoutS?: number): Promise<void>;
}

export interface DbOptions {
  max?: number;
  metrics?: Pick<Metrics, 'dbDuration'>;
  connectTimeoutS?: number;
  appName?: string;
  maxLifetimeS?: number;
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const sql = pgClient(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutS ?? 10,
    idle_timeout: 60,
    max_lifetime: opts.maxLifetimeS ?? 1800,
    onnotice: () => undefined, // NOTICEs (e.g. "relation exists, skipping") are not errors
    connection: { application_name: opts.appName ?? 'chat-backend' },
  });
  const hist = opts.metrics?.dbDuration;
  const timed = async <T>(name: string, run: (s: Sql) => Promise<T>, on: Sql): Promise<T> => {
    const start = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await run(on);
    } catch (err) {
      outcome = 'error';
      throw err;
    } finally {
      hist?.observe({ query: name, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
    }
  };
  return {
    sql,
    timed: (name, run) => timed(name, run, sql),
    async session(name, run) {
      const conn = pgClient(url, {
        max: 1, idle_timeout: 0, max_lifetime: 0, connect_timeout: opts.connectTimeoutS ?? 10,
        onnotice: () => undefined,
        connection: { application_name: `${opts.appName ?? 'chat-backend'}-${name}` },
      });
      try {
        return await timed(name, run, conn);
      } finally {
        await conn.end({ timeout: 5 });
      }
    },
    end: (timeoutS = 5) => sql.end({ timeout: timeoutS }),
  };
}

// Every client in src/db/ is made here or typed as Sql, so none offers begin() or reserve().
export function pgClient(url: string, options: postgres.Options<Record<string, never>>): Sql {
  return postgres(url, options) as unknown as Sql;
}

// postgres.js reports unique violations with this SQLSTATE.
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint_name === constraint);
}

// The database is unreachable or went away under the statement (as opposed to an error
// in the statement itself): postgres.js connection errors, class 08 (connection
// exception) and 57P01-57P03 (terminated by the administrator, crash or shutdown,
// cannot connect now), or the socket errors of a refused or reset connection.
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03'
    || code.startsWith('CONNECT') || code === 'CONNECTION_CLOSED' || code === 'CONNECTION_ENDED' || code === 'CONNECTION_DESTROYED'
    || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH';
}
