import { describe, expect, it } from 'vitest';
import { WorkQueue } from './queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('coalesces events per key and never runs one key twice at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const q = new WorkQueue(async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs.push(key);
      await sleep(30);
      running--;
      return {};
    }, { workers: 3 });
    q.add('a');
    q.add('a');
    q.add('b');
    q.start();
    await sleep(5);
    q.add('a'); // while a runs: marked dirty, runs once more afterwards
    q.add('a');
    await sleep(150);
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
    await sleep(200);
    await q.stop();
    expect(times).toHaveLength(3);
    expect(retries).toBe(2);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]! - 5);
  });
});
