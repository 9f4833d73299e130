import { describe, expect, it } from 'vitest';
import { Conditions } from './conditions.js';

describe('Conditions', () => {
  it('keeps lastTransitionTime unless the status changes, and reports transitions', () => {
    const first = new Conditions(undefined, 1, '2026-01-01T00:00:00Z');
    first.set({ type: 'Ready', status: 'False', reason: 'SchemaMigrationRunning', message: 'job running' });
    expect(first.transitions).toHaveLength(1);
    const second = new Conditions(first.list(), 2, '2026-01-01T00:01:00Z');
    second.set({ type: 'Ready', status: 'False', reason: 'RollingOut', message: '0/2' });
    expect(second.get('Ready')).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2, reason: 'RollingOut' });
    expect(second.transitions).toHaveLength(0);
    second.set({ type: 'Ready', status: 'True', reason: 'ReplicasReady', message: '2/2' });
    expect(second.get('Ready')?.lastTransitionTime).toBe('2026-01-01T00:01:00Z');
    expect(second.transitions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', warning: false })]);
  });

  it('reports a failure as a warning even when the status stays', () => {
    const c = new Conditions([{ type: 'Ready', status: 'False', reason: 'RollingOut', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }], 1, '2026-01-01T00:05:00Z');
    c.set({ type: 'Ready', status: 'False', reason: 'SchemaMigrationFailed', message: 'BackoffLimitExceeded' });
    c.set({ type: 'Degraded', status: 'True', reason: 'SchemaMigrationFailed', message: 'BackoffLimitExceeded' });
    expect(c.transitions.map((t) => [t.type, t.warning])).toEqual([['Ready', true], ['Degraded', true]]);
  });
});
