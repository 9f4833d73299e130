// The work queue on fake timers: backoff and requeue delays are checked to the millisecond
// without waiting for them, and a handler's work is a promise the test resolves.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from './queue.js';

/** Lets the queue's workers run every step they can without time passing. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces events per key and never runs one key twice at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const finish: (() => void)[] = [];
    const q = new WorkQueue(async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs.push(key);
      await new Promise<void>((resolve) => finish.push(resolve));
      running--;
      return {};
    }, { workers: 3 });
    q.add('a');
    q.add('a');
    q.add('b');
    q.start();
    await settle();
    expect(runs).toEqual(['a', 'b']);
    q.add('a'); // while a runs: marked dirty, runs once more afterwards
    q.add('a');
    while (finish.length > 0) {
      for (const done of finish.splice(0)) done();
      await settle();
    }
    await q.stop();
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    expect(maxRunning).toBe(2); // a and b in parallel, never a twice
  });

  it('retries a failing key with growing delays', async () => {
    const times: number[] = [];
    let retries = 0;
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      if (times.length < 3) throw new Error('conflict');
      return {};
    }, { workers: 1, baseDelayMs: 20, onRetry: () => retries++ });
    q.start();
    q.add('x');
    await settle();
    expect(times).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(19);
    expect(times, 'retried before the first backoff (20 ms) was over').toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(times).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(39);
    expect(times, 'the second backoff must double (40 ms)').toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await q.stop();
    expect(times).toHaveLength(3);
    expect(retries).toBe(2);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]! - 5);
    expect([times[1]! - times[0]!, times[2]! - times[1]!]).toEqual([20, 40]);
  });

  it('caps the backoff, and forgets it after a success', async () => {
    let calls = 0;
    let fail = true;
    const q = new WorkQueue(async () => {
      calls++;
      if (fail) throw new Error('down');
      return {};
    }, { workers: 1, baseDelayMs: 100, maxDelayMs: 250 });
    q.start();
    q.add('x');
    await settle();
    await vi.advanceTimersByTimeAsync(100 + 200 + 250);
    expect(calls).toBe(4); // 100, 200, then the cap instead of 400
    fail = false;
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toBe(5);
    fail = true;
    q.add('x');
    await settle();
    await vi.advanceTimersByTimeAsync(100);
    expect(calls, 'after a success the backoff starts again at the base delay').toBe(7);
    await q.stop();
  });

  it('runs a key again after the delay a pass asks for, and drops delayed keys on stop', async () => {
    let calls = 0;
    const q = new WorkQueue(async () => (++calls === 1 ? { requeueAfterMs: 1000 } : {}), { workers: 1 });
    q.start();
    q.add('x');
    await settle();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    q.addAfter('x', 500);
    await q.stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(calls, 'a delayed key ran after stop()').toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
