import { describe, expect, it } from 'vitest';
import type { BusEvent } from './bus.js';
import { Outbox, pack, type Item, type Payload } from './bus-outbox.js';

const delta = (conv: string, run: string, offset: number, text: string): Extract<BusEvent, { kind: 'frame' }> => ({
  kind: 'frame', conv, frame: { type: 'response.delta', run_id: run, message_id: 'm', offset, delta: text },
});
const typing = (conv: string): BusEvent => ({ kind: 'frame', conv, frame: { type: 'typing', session_id: 's', user_id: 'u', state: 'start' } });
const text = (it: Item) => (it.kind === 'frame' && it.frame.type === 'response.delta' ? it.frame.delta : it.kind);

describe('Outbox', () => {
  it('merges the deltas of interleaved runs into one entry per run, in publication order', () => {
    const o = new Outbox();
    for (let i = 0; i < 100; i++) {
      o.push(delta('a', 'ra', i, 'x'));
      o.push(delta('b', 'rb', i, 'y'));
      o.push(delta('c', 'rc', 2 * i, 'zz'));
    }
    const out = o.take();
    expect(out.map(text)).toEqual(['x'.repeat(100), 'y'.repeat(100), 'z'.repeat(200)]);
    expect(o.length).toBe(0);
  });

  it('never moves a delta across another event of its conversation, nor across a gap', () => {
    const o = new Outbox();
    o.push(delta('a', 'r', 0, 'He'));
    o.push(typing('a'));
    o.push(delta('a', 'r', 2, 'llo'));
    o.push(delta('b', 's', 0, 'x'));
    o.push(delta('b', 's', 5, 'y'));
    expect(o.take().map(text)).toEqual(['He', 'frame', 'llo', 'x', 'y']);
  });

  it('merges thinking of one step, not across steps, and never addressed frames', () => {
    const o = new Outbox();
    const think = (step: number, t: string): BusEvent => ({ kind: 'frame', conv: 'a', frame: { type: 'agent.thinking', run_id: 'r', step, text: t } });
    o.push(think(1, 'a'));
    o.push(think(1, 'b'));
    o.push(think(2, 'c'));
    o.push({ ...delta('a', 'r', 0, 'x'), only: 's1' });
    o.push({ ...delta('a', 'r', 1, 'y'), only: 's1' });
    const out = o.take();
    expect(out.map((i) => (i.kind === 'frame' && i.frame.type === 'agent.thinking' ? i.frame.text : text(i)))).toEqual(['ab', 'c', 'x', 'y']);
  });

  it('past its bound drops per-token frames first, then anything, and ends the batch with a resync', () => {
    const o = new Outbox(3);
    for (let i = 0; i < 5; i++) o.push(delta(`c${i}`, `r${i}`, 0, 'x'));
    expect(o.length).toBe(3);
    o.push(delta('c0', 'r0', 1, 'y')); // still merges into its run's entry: no growth
    for (let i = 0; i < 5; i++) o.push(typing(`t${i}`));
    expect(o.length).toBe(6);
    expect(o.droppedTotal).toBe(4);
    const out = o.take();
    expect(out.at(-1)).toEqual({ kind: '_resync' });
    expect(text(out[0]!)).toBe('xy');
    o.push(typing('z'));
    expect(o.take()).toEqual([typing('z')]); // the resync is sent once
  });
});

// What a replica listening on `own` (and, as every replica, on the shared channel) hears.
const heard = (payloads: Payload[], own: string | undefined) =>
  payloads.filter((p) => p.to === undefined || p.to === own).flatMap((p) => (typeof p.body === 'string' ? (JSON.parse(p.body) as { i: Item[] }).i : [p.body]));

describe('pack', () => {
  it('fills payloads up to the byte limit in order and sends oversized items by reference', () => {
    const items: Item[] = [];
    for (let i = 0; i < 50; i++) items.push(delta('a', `r${i}`, 0, 'é'.repeat(30)));
    const big = delta('a', 'big', 0, 'x'.repeat(9000));
    items.splice(20, 0, big);
    const head = '{"o":"rep","n":';
    const { payloads, next } = pack(items, head, 7, 1000);
    expect(payloads.every((p) => p.to === undefined)).toBe(true);
    const strings = payloads.map((p) => p.body).filter((p): p is string => typeof p === 'string');
    for (const s of strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(1000);
    expect(payloads.map((p) => p.body).filter((p) => typeof p !== 'string')).toEqual([big]);
    expect(heard(payloads, undefined)).toEqual(items);
    expect(strings.map((s) => (JSON.parse(s) as { n: number }).n)).toEqual(strings.map((_, k) => 7 + k));
    expect(next).toBe(7 + strings.length);
  });

  it('addresses per-token items to the replicas that watch their conversation, and each replica hears its items and the shared ones in order', () => {
    const watchers: Record<string, string[]> = { a: ['X'], b: ['Y'], c: ['X', 'Y'], d: [] };
    const route = (it: Item) => (it.kind === 'frame' && it.frame.type === 'response.delta' ? watchers[it.conv] : undefined);
    const items: Item[] = [];
    for (let i = 0; i < 40; i++) {
      const conv = 'abcd'[i % 4]!;
      items.push(delta(conv, `r${conv}`, i, 'é'.repeat(i % 7 === 0 ? 200 : 20)));
      if (i % 9 === 0) items.push(typing(`s${i}`));
    }
    items.push(delta('c', 'big', 0, 'x'.repeat(2000)));
    const { payloads } = pack(items, '{"o":"rep","n":', 0, 600, route);
    for (const p of payloads) if (typeof p.body === 'string') expect(Buffer.byteLength(p.body)).toBeLessThanOrEqual(600);
    const wanted = (r: string) => items.filter((it) => { const to = route(it); return to === undefined || to.includes(r); });
    expect(heard(payloads, 'X')).toEqual(wanted('X'));
    expect(heard(payloads, 'Y')).toEqual(wanted('Y'));
    // a replica that watches nothing hears only what goes to everyone; no one hears conv d's deltas
    expect(heard(payloads, 'Z')).toEqual(items.filter((it) => route(it) === undefined));
    expect(payloads.filter((p) => p.to === undefined).length).toBeGreaterThan(1);
    expect(payloads.filter((p) => typeof p.body !== 'string').map((p) => p.to).sort()).toEqual(['X', 'Y']);
  });
});
