import { describe, expect, it } from 'vitest';
import { chooseVectorMode, pgvectorUsable } from './embeddings.js';

describe('pgvector selection', () => {
  it('needs pgvector 0.8.0 or newer (iterative index scans)', () => {
    for (const v of ['0.8.0', '0.8.1', '0.9.0', '1.0', '1.0.0-beta', '10.2.3']) expect(pgvectorUsable(v), v).toBe(true);
    for (const v of ['0.7.4', '0.5.1', '0.4.1', '0.7', '']) expect(pgvectorUsable(v), v).toBe(false);
  });

  it('uses pgvector only when the extension is there and could be enabled', () => {
    expect(chooseVectorMode(false, false)).toBe('array');
    expect(chooseVectorMode(true, false)).toBe('array');
    expect(chooseVectorMode(true, true)).toBe('pgvector');
  });
});
