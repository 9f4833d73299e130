import { describe, expect, it } from 'vitest';
import { CacheCounts, type Counts } from './counts.js';

describe('CacheCounts', () => {
  it('adds up per model and writes one row change per model per flush', async () => {
    const writes: [string, Counts][] = [];
    const counts = new CacheCounts(async (m, c) => void writes.push([m, { ...c }]), 60_000, (err) => { throw err; });
    for (let i = 0; i < 50; i++) counts.add('a', { hits: 0, misses: 1, tokensSaved: 0 });
    counts.add('a', { hits: 2, misses: 0, tokensSaved: 30 });
    counts.add('b', { hits: 1, misses: 0, tokensSaved: 7 });
    await counts.flush();
    expect(writes).toEqual([['a', { hits: 2, misses: 50, tokensSaved: 30 }], ['b', { hits: 1, misses: 0, tokensSaved: 7 }]]);
    await counts.flush();
    expect(writes).toHaveLength(2); // nothing new, nothing written
    await counts.close();
  });

  it('keeps what a failed write carried and writes it with the next flush', async () => {
    const writes: [string, Counts][] = [];
    const errors: unknown[] = [];
    let fail = true;
    const counts = new CacheCounts(async (m, c) => {
      if (fail) throw new Error('database down');
      writes.push([m, { ...c }]);
    }, 60_000, (err) => void errors.push(err));
    counts.add('a', { hits: 1, misses: 2, tokensSaved: 3 });
    await counts.flush();
    expect(writes).toEqual([]);
    expect(errors).toHaveLength(1);
    counts.add('a', { hits: 1, misses: 0, tokensSaved: 1 });
    fail = false;
    await counts.flush();
    expect(writes).toEqual([['a', { hits: 2, misses: 2, tokensSaved: 4 }]]);
    await counts.close();
  });

  it('writes what was added during a write once that write is done, not twice', async () => {
    const writes: Counts[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => { release = r; });
    const counts = new CacheCounts(async (_m, c) => {
      writes.push({ ...c });
      if (writes.length === 1) await first;
    }, 60_000, (err) => { throw err; });
    counts.add('a', { hits: 1, misses: 0, tokensSaved: 0 });
    const one = counts.flush();
    counts.add('a', { hits: 0, misses: 1, tokensSaved: 0 });
    const two = counts.flush();
    release();
    await Promise.all([one, two]);
    expect(writes).toEqual([{ hits: 1, misses: 0, tokensSaved: 0 }, { hits: 0, misses: 1, tokensSaved: 0 }]);
    await counts.close();
  });

  it('writes on its own once per interval, and what is left at close', async () => {
    const writes: Counts[] = [];
    const counts = new CacheCounts(async (_m, c) => void writes.push({ ...c }), 20, (err) => { throw err; });
    counts.add('a', { hits: 1, misses: 0, tokensSaved: 0 });
    await expect.poll(() => writes.length).toBe(1);
    counts.add('a', { hits: 0, misses: 1, tokensSaved: 0 });
    await counts.close();
    expect(writes).toEqual([{ hits: 1, misses: 0, tokensSaved: 0 }, { hits: 0, misses: 1, tokensSaved: 0 }]);
  });
});
