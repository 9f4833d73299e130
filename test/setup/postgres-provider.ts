// Where tests get PostgreSQL: DATABASE_URL when set, else testcontainers when a Docker
// engine answers, else the embedded PostgreSQL the product itself ships. Shared with
// the k8s suites, which need the same database for the schema Job.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

export interface ProvidedPostgres {
  adminUrl: string;
  source: 'DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('docker probe timed out')), 10_000)),
    ]);
    return true;
  } catch {
    return false; // no engine: fall through to embedded PostgreSQL
  }
}

export async function providePostgres(env: Record<string, string | undefined>): Promise<ProvidedPostgres> {
  if (env.DATABASE_URL) return { adminUrl: env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => undefined };
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer('postgres:17-alpine').start();
    return { adminUrl: c.getConnectionUri(), source: 'testcontainers', stop: async () => { await c.stop(); } };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-test-pg-'));
  const pg = await startEmbeddedPostgres({ dir });
  return {
    adminUrl: pg.adminUrl,
    source: 'embedded',
    stop: async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
