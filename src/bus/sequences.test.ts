import { describe, expect, it } from 'vitest';
import { Sequences } from './sequences.js';

describe('Sequences', () => {
  it('numbers per conversation and sees a skipped number as a gap, per origin', () => {
    const s = new Sequences();
    expect([s.next('c'), s.next('c'), s.next('d')]).toEqual([1, 2, 1]);
    expect(s.gap('c', 'a', 1)).toBe(false); // first heard: nothing to compare
    expect(s.gap('c', 'a', 2)).toBe(false);
    expect(s.gap('c', 'b', 7)).toBe(false); // another origin, first heard mid-way
    expect(s.gap('c', 'a', 4)).toBe(true);
    expect(s.gap('c', 'a', 5)).toBe(false);
  });

  it('takes a restart of the numbering as a gap only when its start is missing', () => {
    const s = new Sequences();
    s.gap('c', 'a', 10);
    expect(s.gap('c', 'a', 1)).toBe(false);
    s.gap('c', 'a', 10);
    expect(s.gap('c', 'a', 3)).toBe(true);
    s.reset('c');
    expect(s.gap('c', 'a', 9)).toBe(false);
    expect(s.next('c')).toBe(1);
    s.gap('c', 'a', 1);
    s.forgetSeen();
    expect(s.gap('c', 'a', 5)).toBe(false); // the reconnect already re-reads
  });
});
