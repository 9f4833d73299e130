// One PostgreSQL for the whole run; suites create their own databases inside it.
// Teardown also scans every server log the suites captured for JWT-shaped strings,
// so a token that leaks into a log anywhere fails the run.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { providePostgres } from './postgres-provider.js';

export const LOG_DIR = path.resolve('test-results/server-logs');
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/;

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseSource: string;
  }
}

export default async function setup(project: TestProject) {
  await rm(LOG_DIR, { recursive: true, force: true });
  await mkdir(LOG_DIR, { recursive: true });
  const pg = await providePostgres(process.env);
  project.provide('databaseUrl', pg.adminUrl);
  project.provide('databaseSource', pg.source);
  return async () => {
    await pg.stop();
    const leaks: string[] = [];
    for (const f of await readdir(LOG_DIR)) {
      const text = await readFile(path.join(LOG_DIR, f), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (JWT_SHAPE.test(line)) leaks.push(`${f}:${i + 1}`);
      });
    }
    if (leaks.length > 0) throw new Error(`JWT-shaped strings found in server logs: ${leaks.join(', ')}`);
  };
}
