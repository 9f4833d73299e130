import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'operator/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // One shared PostgreSQL for the run; each suite gets its own database in it.
    globalSetup: ['test/setup/global-db.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
