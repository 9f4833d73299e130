// `chat-backend migrate`, the command the operator's schema Job runs.
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXPECTED_RELATIONS, loadMigrations } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/server.js';

let tdb: TestDatabase;
const count = (await loadMigrations()).length;
const migrate = () => runCli(['migrate'], { DATABASE_URL: tdb.url, LOG_LEVEL: 'warn' });

async function query<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(tdb.url, { max: 1, onnotice: () => undefined });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

beforeEach(async () => { tdb = await createTestDatabase('mig'); });
afterEach(async () => { await tdb.drop(); });

describe('migrate', () => {
  it('creates all eleven relations and 20+ indexes on a fresh database', async () => {
    const r = await migrate();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${count} applied, 0 already applied`);
    const rels = await query((sql) => sql<{ relname: string }[]>`
      SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND relkind IN ('r', 'v')`);
    expect(rels.map((x) => x.relname)).toEqual(expect.arrayContaining([...EXPECTED_RELATIONS]));
    const idx = await query((sql) => sql<{ n: string }[]>`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`);
    expect(Number(idx[0]!.n)).toBeGreaterThanOrEqual(20);
    const uniq = await query((sql) => sql<{ conname: string }[]>`SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass AND contype = 'u'`);
    expect(uniq.map((u) => u.conname).sort()).toEqual(['messages_conversation_client_msg_key', 'messages_conversation_seq_key']);
  });

  it('gives messages only the indexes its queries use', async () => {
    // Every message written pays for each index; the full-text one (0001) served no query
    // (the conversation search filters along (conversation_id, seq)) and 0007 drops it.
    expect((await migrate()).code).toBe(0);
    const idx = await query((sql) => sql<{ indexname: string }[]>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'messages'`);
    expect(idx.map((i) => i.indexname).sort()).toEqual([
      'messages_conversation_client_msg_key', 'messages_conversation_seq_key', 'messages_pkey', 'messages_reply_to_key',
      'messages_run_idx', 'messages_streaming_idx', 'messages_streaming_runner_idx',
    ]);
  });

  it('is a no-op when re-run', async () => {
    expect((await migrate()).code).toBe(0);
    const again = await migrate();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 applied, ${count} already applied`);
  });

  it('lets two processes started at once both succeed, applying each migration once', async () => {
    const [a, b] = await Promise.all([migrate(), migrate()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.stdout, b.stdout].filter((o) => o.includes(`${count} applied, 0 already`)).length).toBe(1);
    expect([a.stdout, b.stdout].filter((o) => o.includes(`0 applied, ${count} already`)).length).toBe(1);
    const rows = await query((sql) => sql`SELECT version FROM schema_migrations`);
    expect(rows.length).toBe(count);
  });

  it('refuses to run when an applied migration changed, naming the file', async () => {
    expect((await migrate()).code).toBe(0);
    await query((sql) => sql`UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1`);
    const r = await migrate();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/migration 0001_init\.sql was changed after it was applied/);
  });

  it('exits non-zero naming a relation that is missing', async () => {
    expect((await migrate()).code).toBe(0);
    await query((sql) => sql`DROP VIEW top_cached_queries`);
    await query((sql) => sql`DROP TABLE cache_config`);
    const r = await migrate();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing relations: cache_config, top_cached_queries/);
  });

  it('names the bad variable when DATABASE_URL is not a postgres URL', async () => {
    const r = await runCli(['migrate'], { DATABASE_URL: 'mysql://nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL=<redacted>: expected a postgres:\/\/ or postgresql:\/\/ URL/);
  });
});
