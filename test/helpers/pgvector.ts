// pgvector built into Debian's PostgreSQL 15 (tools/pgvector/build.sh, idempotent and
// serialised by a lock), for suites that exercise the pgvector search path.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

// Why pgvector cannot be used here, or undefined when it is installed.
export function pgvectorUnavailable(): string | undefined {
  if (!existsSync(path.join(PG15_BIN, 'postgres'))) return `no PostgreSQL 15 at ${PG15_BIN} (apt-get install postgresql-15)`;
  try {
    execFileSync(path.join(ROOT, 'tools/pgvector/build.sh'), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `pgvector could not be built: ${(e.stderr?.toString().trim().split('\n').at(-1) ?? e.message).slice(0, 300)}`;
  }
}
