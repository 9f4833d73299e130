// A fresh database per suite inside the run's PostgreSQL, dropped afterwards.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('databaseUrl');
}

export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    drop: async () => {
      const a = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

// A migrated database plus a pool on it, for suites that seed rows directly.
export async function createMigratedDatabase(prefix = 't'): Promise<TestDatabase & { db: Db }> {
  const t = await createTestDatabase(prefix);
  const db = createDb(t.url, { max: 4 });
  await migrate(db, await loadMigrations());
  return {
    ...t,
    db,
    drop: async () => {
      await db.end();
      await t.drop();
    },
  };
}
