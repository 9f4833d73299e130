import { afterEach, describe, expect, it, vi } from 'vitest';
import { schedulePurge } from './purge.js';

afterEach(() => { vi.useRealTimers(); });

describe('schedulePurge', () => {
  it('purges on every interval, never two at once, logs what it did, and stops', async () => {
    vi.useFakeTimers();
    const logs: [string, object][] = [];
    const log = { info: (o: object, m: string) => logs.push([m, o]), warn: (o: object, m: string) => logs.push([m, o]) };
    let calls = 0;
    let release!: (n: number) => void;
    const purge = () => { calls++; return new Promise<number>((r) => { release = r; }); };
    const p = schedulePurge(purge, 1000, log);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(3000); // still running: not stacked
    expect(calls).toBe(1);
    release(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    expect(logs).toEqual([['expired cache entries purged', { purged: 3 }]]);
    release(0);
    p.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(2);
  });

  it('a failing purge is logged and retried next time', async () => {
    vi.useFakeTimers();
    const warned: string[] = [];
    const p = schedulePurge(async () => { throw new Error('db down'); }, 100, { info: () => undefined, warn: (o) => warned.push((o as { err_message: string }).err_message) });
    await vi.advanceTimersByTimeAsync(250);
    expect(warned).toEqual(['db down', 'db down']);
    p.stop();
  });
});
