import { describe, expect, it } from 'vitest';
import { WatchCounts } from './bus.js';

describe('WatchCounts', () => {
  it('reports the first watcher and the last release only, and ignores a second release', () => {
    const changes: [string, boolean][] = [];
    const w = new WatchCounts((conv, on) => changes.push([conv, on]));
    const r1 = w.watch('c');
    const r2 = w.watch('c');
    expect(changes).toEqual([['c', true]]);
    r1();
    r1();
    expect(changes).toEqual([['c', true]]);
    expect(w.has('c')).toBe(true);
    r2();
    expect(changes).toEqual([['c', true], ['c', false]]);
    expect(w.has('c')).toBe(false);
    expect(w.size).toBe(0);
  });
});
