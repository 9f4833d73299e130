import { describe, expect, it } from 'vitest';
import { readiness } from './health.js';

const deps = (over: Partial<Parameters<typeof readiness>[0]>) => ({
  schemaVersion: async () => 3, expectedVersion: 3, timeoutMs: 50, isDraining: () => false, ...over,
});

describe('readiness', () => {
  it('is ok when every check passes', async () => {
    expect((await readiness(deps({}))).status).toBe('ok');
  });

  it('names the schema when it is behind, and accepts a newer one during rollouts', async () => {
    const behind = await readiness(deps({ schemaVersion: async () => 2 }));
    expect(behind.checks.schema).toMatchObject({ status: 'fail', applied: 2, expected: 3 });
    expect((await readiness(deps({ schemaVersion: async () => 4 }))).status).toBe('ok');
  });

  it('fails the database check at the deadline without waiting for the query', async () => {
    const t0 = performance.now();
    const r = await readiness(deps({ schemaVersion: () => new Promise(() => undefined) }));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.checks.database).toMatchObject({ status: 'fail', message: 'no answer within 50 ms' });
  });

  it('reports draining and hides connection details', async () => {
    const r = await readiness(deps({ isDraining: () => true, schemaVersion: async () => { throw Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' }); } }));
    expect(r.checks.draining?.status).toBe('fail');
    expect(r.checks.database?.message).toBe('database error ECONNREFUSED');
  });
});
