import { describe, expect, it } from 'vitest';
import { PublishGate } from './publish-gate.js';

// A gate whose flushes settle when the test says so, recording every hint it gives.
function gate(maxPendingBytes = 100, maxRemembered = 3, clock = { now: 0 }) {
  const hints: (string[] | 'all')[] = [];
  const flushes: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const g = new PublishGate({
    maxPendingBytes,
    maxRemembered,
    flush: () => new Promise<void>((resolve, reject) => flushes.push({ resolve, reject })),
    hint: (convs) => void hints.push(convs.sort()),
    hintAll: () => void hints.push('all'),
    hintAfterMs: 1000,
    now: () => clock.now,
  });
  return { g, hints, flushes };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PublishGate', () => {
  it('drops while the link is down and, once it is back, hints each dropped and each watched conversation once', () => {
    const { g, hints } = gate();
    g.down();
    expect(g.admit('a')).toBe('disconnected');
    expect(g.admit('a')).toBe('disconnected');
    expect(hints).toEqual([]);
    g.up(['b']);
    expect(hints).toEqual([['a', 'b']]);
    expect(g.admit('a')).toBe('ok');
  });

  it('at the bound of remembered conversations, asks every replica to resync instead of forgetting the rest', () => {
    const { g, hints } = gate(100, 3);
    g.down();
    for (const conv of ['a', 'b', 'c', 'd', 'e']) g.admit(conv);
    g.up([]);
    // one broadcast: no partial list that would leave d and e without a hint
    expect(hints).toEqual(['all']);
    // the overflow is spent: the next outage hints by name again
    g.down();
    g.admit('x');
    g.up([]);
    expect(hints).toEqual(['all', ['x']]);
  });

  it('exactly at the bound still names every conversation', () => {
    const { g, hints } = gate(100, 3);
    g.down();
    for (const conv of ['a', 'b', 'c', 'a']) g.admit(conv);
    g.up([]);
    expect(hints).toEqual([['a', 'b', 'c']]);
  });

  it('watched conversations beyond the bound at a reconnect are covered by the broadcast', () => {
    const { g, hints } = gate(100, 3);
    g.down();
    g.up(['a', 'b', 'c', 'd']);
    expect(hints).toEqual(['all']);
  });

  it('drops beyond maxPendingBytes until a flush confirms the backlog, then hints; past the bound of conversations, broadcasts', async () => {
    const { g, hints, flushes } = gate(100, 2);
    expect(g.admit('a')).toBe('ok');
    g.sent(100);
    for (const conv of ['a', 'b', 'c']) expect(g.admit(conv)).toBe('buffer_full');
    await tick();
    expect(flushes).toHaveLength(1);
    expect(hints).toEqual([]);
    flushes[0]!.resolve();
    await tick();
    expect(g.pendingBytes).toBe(0);
    expect(hints).toEqual(['all']);
    expect(g.admit('a')).toBe('ok');
  });

  it('a failed flush keeps the account until the reconnect resets it', async () => {
    const { g, hints, flushes } = gate(100, 3);
    g.sent(100);
    expect(g.admit('a')).toBe('buffer_full');
    await tick();
    flushes[0]!.reject(new Error('disconnected'));
    await tick();
    expect(g.admit('b')).toBe('buffer_full');
    g.down();
    g.up([]);
    expect(g.pendingBytes).toBe(0);
    expect(hints).toEqual([['a', 'b']]);
  });

  it('under a backlog that never empties, hints once the oldest drop has waited hintAfterMs, not before', async () => {
    const clock = { now: 0 };
    const { g, hints, flushes } = gate(100, 3, clock);
    g.sent(100);
    expect(g.admit('a')).toBe('buffer_full');
    await tick();
    // each flush confirms the bytes before it, but more were sent meanwhile
    const confirmWithMore = async (at: number) => {
      clock.now = at;
      g.sent(100);
      flushes.at(-1)!.resolve();
      await tick();
      await tick();
    };
    await confirmWithMore(999);
    expect(hints).toEqual([]);
    expect(g.pendingBytes).toBe(100);
    await confirmWithMore(1000);
    expect(hints).toEqual([['a']]);
    // the next drop waits its own interval
    expect(g.admit('b')).toBe('buffer_full');
    await confirmWithMore(1500);
    expect(hints).toEqual([['a']]);
    await confirmWithMore(2000);
    expect(hints).toEqual([['a'], ['b']]);
  });

  it('events dropped before the gate (conversations unknown) make the next hint a broadcast', async () => {
    const { g, hints, flushes } = gate();
    g.overflowed();
    // nothing in flight: at once
    expect(hints).toEqual(['all']);
    g.sent(10);
    g.overflowed();
    expect(hints).toEqual(['all']);
    await tick();
    flushes[0]!.resolve();
    await tick();
    expect(hints).toEqual(['all', 'all']);
  });
});
