import { describe, expect, it } from 'vitest';
import { mergePatch } from './merge-patch.js';

describe('mergePatch', () => {
  it('keeps what is desired and nulls what left, at any depth', () => {
    const before = { schema: { appliedHash: 'a', jobName: 'j1', failedHash: 'b' }, replicas: 2, url: 'x' };
    const after = { schema: { appliedHash: 'b', jobName: 'j2' }, replicas: 3 };
    expect(mergePatch(before, after)).toEqual({ schema: { appliedHash: 'b', jobName: 'j2', failedHash: null }, replicas: 3, url: null });
  });

  it('treats undefined as absent and replaces arrays whole', () => {
    expect(mergePatch({ a: 1, c: [1, 2] }, { a: undefined, c: [3] })).toEqual({ a: null, c: [3] });
    expect(mergePatch(undefined, { a: 1 })).toEqual({ a: 1 });
  });
});
