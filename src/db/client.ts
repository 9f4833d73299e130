// The PostgreSQL pool and the one wrapper every named query goes through, so query
// latency is measured per query name without each module repeating the timing code.
import postgres from 'postgres';
import type { Metrics } from '../metrics/metrics.js';

export type Sql = postgres.Sql<Record<string, never>>;
export type TxSql = postgres.TransactionSql<Record<string, never>>;

export interface Db {
  sql: Sql;
  timed<T>(name: string, run: (sql: Sql) => Promise<T>): Promise<T>;
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
  const sql = postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutS ?? 10,
    idle_timeout: 60,
    max_lifetime: opts.maxLifetimeS ?? 1800,
    onnotice: () => undefined, // NOTICEs (e.g. "relation exists, skipping") are not errors
    connection: { application_name: opts.appName ?? 'chat-backend' },
  }) as unknown as Sql;
  const hist = opts.metrics?.dbDuration;
  return {
    sql,
    async timed(name, run) {
      const start = process.hrtime.bigint();
      let outcome = 'ok';
      try {
        return await run(sql);
      } catch (err) {
        outcome = 'error';
        throw err;
      } finally {
        hist?.observe({ query: name, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
      }
    },
    end: (timeoutS = 5) => sql.end({ timeout: timeoutS }),
  };
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
