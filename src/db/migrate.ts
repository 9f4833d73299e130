// Applies src/db/migrations/NNNN_name.sql in order under a PostgreSQL advisory lock,
// so two pods or Jobs migrating at once serialise instead of racing on DDL. Applied
// files are recorded with a sha256; a changed file stops everything, because the
// database no longer matches what the code was tested against.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Db } from './client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

// Arbitrary but fixed: every chat-backend process uses the same lock key.
const LOCK_KEY = 7_316_244_901;

export const EXPECTED_RELATIONS = [
  'conversations', 'messages', 'tool_calls', 'documents', 'embeddings', 'agent_checkpoints',
  'llm_response_cache', 'cache_config', 'cache_analytics', 'cache_by_model', 'top_cached_queries', 'answer_chunks',
] as const;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
  missing: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new MigrationError(`migration file ${file} is not named NNNN_name.sql`);
    const version = Number(m[1]);
    if (out.length > 0 && out[out.length - 1]!.version === version) {
      throw new MigrationError(`two migrations share version ${m[1]}`);
    }
    const sql = await readFile(path.join(dir, file), 'utf8');
    out.push({ version, name: file, sql, checksum: sha256(sql) });
  }
  return out;
}

export function latestVersion(migrations: Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

// On a session of its own (Db.session), not a connection reserved from the pool: the lock
// is that session's, and a connection lost under it fails a statement instead of ending
// the process (see client.ts). Each migration is one simple-protocol message, so it is one
// implicit transaction that a lost connection rolls back whole, and it starts by checking
// that it still runs on the backend holding the lock: the driver reconnects silently.
export async function migrate(db: Db, migrations: Migration[]): Promise<MigrateResult> {
  const applied = await db.session('migrate', async (conn) => {
    const [locked] = await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid, pg_advisory_lock(${LOCK_KEY})`;
    const pid = locked!.pid;
    try {
      // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still
      // collide on the catalog's unique index.
      await conn`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`;
      const rows = await conn<{ version: number; name: string; checksum: string }[]>`
        SELECT version, name, checksum FROM schema_migrations ORDER BY version`;
      const byVersion = new Map(rows.map((r) => [r.version, r]));
      for (const m of migrations) {
        const row = byVersion.get(m.version);
        if (row !== undefined && row.checksum !== m.checksum) {
          throw new MigrationError(
            `migration ${m.name} was changed after it was applied (recorded checksum ${row.checksum.slice(0, 12)}, file ${m.checksum.slice(0, 12)}); restore the file and add a new migration instead`,
          );
        }
      }
      const done: string[] = [];
      for (const m of migrations) {
        if (byVersion.has(m.version)) continue;
        try {
          await conn.unsafe(migrationMessage(m, pid));
        } catch (err) {
          throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        done.push(m.name);
      }
      return done;
    } finally {
      // Only on the backend that holds it; a lost session released it already.
      await conn`SELECT pg_advisory_unlock(${LOCK_KEY}) WHERE pg_backend_pid() = ${pid}`;
    }
  });
  const missing = await missingRelations(db);
  return { applied, alreadyApplied: migrations.length - applied.length, missing };
}

// The file, recorded as applied, behind a guard that fails the whole message when the
// session is not the one holding the migration lock. Name and checksum are checked by
// loadMigrations' pattern and sha256, so quoting them is safe.
export function migrationMessage(m: Migration, lockPid: number): string {
  if (!/^[a-z0-9_.]+$/.test(m.name) || !/^[0-9a-f]{64}$/.test(m.checksum)) throw new MigrationError(`migration ${m.name} has an unexpected name or checksum`);
  return `DO $guard$ BEGIN
  IF pg_backend_pid() <> ${Number(lockPid)} THEN
    RAISE EXCEPTION 'the migration lock was lost with its connection (backend ${Number(lockPid)}); nothing was applied';
  END IF;
END $guard$;
${m.sql}
;
INSERT INTO schema_migrations (version, name, checksum) VALUES (${Number(m.version)}, '${m.name}', '${m.checksum}');`;
}

export async function missingRelations(db: Db): Promise<string[]> {
  const rows = await db.timed('migrate.relations', (sql) => sql<{ relname: string }[]>`
    SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relname = ANY(${[...EXPECTED_RELATIONS]})`);
  const present = new Set(rows.map((r) => r.relname));
  return EXPECTED_RELATIONS.filter((r) => !present.has(r));
}

// Highest applied version, or null when the migrations table does not exist yet.
export async function appliedVersion(db: Db): Promise<number | null> {
  try {
    const rows = await db.timed('migrate.version', (sql) => sql<{ v: number | null }[]>`
      SELECT max(version) AS v FROM schema_migrations`);
    return rows[0]?.v ?? 0;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return null; // undefined_table
    throw err;
  }
}
