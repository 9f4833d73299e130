import { describe, expect, it } from 'vitest';
import type { Pushing } from '../pushing.js';
import { Recording } from './recording.js';

// A source that hands out `values`, then fails with `error` if given; records whether it was closed.
function source(values: number[], error?: Error) {
  const seen = { started: 0, closed: false };
  const make = (): AsyncIterable<number> => {
    seen.started++;
    let i = 0;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (i < values.length) return { done: false, value: values[i++]! };
          if (error) throw error;
          return { done: true, value: undefined };
        },
        return: async () => {
          seen.closed = true;
          return { done: true, value: undefined };
        },
      }),
    };
  };
  return { make, seen };
}

// An end that takes a turn of the event loop, and says when it has finished.
function slowEnd() {
  const ends: [number[], boolean][] = [];
  let done = false;
  const end = async (events: number[], completed: boolean) => {
    ends.push([[...events], completed]);
    await new Promise((r) => setImmediate(r));
    done = true;
  };
  return { ends, end, finished: () => done };
}

describe('Recording', () => {
  it('hands the events on in order and ends, completed, with all of them before the reader sees the end', async () => {
    const { make, seen } = source([1, 2, 3]);
    const { ends, end, finished } = slowEnd();
    const rec = new Recording(make, end);
    expect(seen.started).toBe(0); // the call is made at the first read
    const got: number[] = [];
    for await (const v of rec) got.push(v);
    expect(finished()).toBe(true);
    expect(got).toEqual([1, 2, 3]);
    expect(ends).toEqual([[[1, 2, 3], true]]);
    expect(await rec.next()).toEqual({ done: true, value: undefined });
    expect(ends).toHaveLength(1);
  });

  it('ends not completed when the call fails, and the reader gets the failure after the end', async () => {
    const boom = new Error('stream broke');
    const { make } = source([1, 2], boom);
    const { ends, end, finished } = slowEnd();
    const rec = new Recording(make, end);
    const got: number[] = [];
    await expect((async () => { for await (const v of rec) got.push(v); })()).rejects.toBe(boom);
    expect(finished()).toBe(true);
    expect(got).toEqual([1, 2]);
    expect(ends).toEqual([[[1, 2], false]]);
  });

  it('closes the call and ends not completed, once, when the reader stops early', async () => {
    const { make, seen } = source([1, 2, 3]);
    const ends: boolean[] = [];
    const rec = new Recording(make, async (_events, completed) => void ends.push(completed));
    for await (const v of rec) if (v === 2) break;
    expect(seen.closed).toBe(true);
    expect(ends).toEqual([false]);
    await rec.return();
    expect(ends).toEqual([false]);
  });

  it('ends not completed, without making the call, when the reader stops before the first read', async () => {
    const { make, seen } = source([1]);
    const ends: boolean[] = [];
    const rec = new Recording(make, async (_events, completed) => void ends.push(completed));
    await rec.return();
    expect(seen.started).toBe(0);
    expect(ends).toEqual([false]);
  });

  it('passes what a pushing call pushes on to its own sink, recorded in its place among what is read', async () => {
    // A pushing source, driven by hand: while the reader waits, an item goes to the sink first.
    let parked: ((r: IteratorResult<number>) => void) | undefined;
    const src: Pushing<number> = {
      sink: undefined,
      [Symbol.asyncIterator]() { return this; },
      next: () => new Promise((r) => { parked = r; }),
    };
    const send = (r: IteratorResult<number>) => {
      if (r.done !== true && src.sink?.(r.value)) return;
      const p = parked!;
      parked = undefined;
      p(r);
    };
    const { ends, end } = slowEnd();
    const rec = new Recording(() => src, end);
    const taken: number[] = [];
    rec.sink = (v) => v % 2 === 1 && taken.push(v) > 0; // takes the odd ones
    const first = rec.next();
    send({ done: false, value: 1 });
    send({ done: false, value: 2 });
    expect(await first).toEqual({ done: false, value: 2 });
    const second = rec.next();
    send({ done: false, value: 3 });
    send({ done: false, value: 4 });
    expect(await second).toEqual({ done: false, value: 4 });
    const last = rec.next();
    send({ done: true, value: undefined });
    expect(await last).toEqual({ done: true, value: undefined });
    expect(taken).toEqual([1, 3]);
    expect(ends).toEqual([[[1, 2, 3, 4], true]]);
  });
});
