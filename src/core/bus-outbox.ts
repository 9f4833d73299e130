// The outgoing side of a bus that batches: events wait here until the link is free, then
// leave together. Per-token frames of a run merge with the previous one of the same run
// when nothing else of that conversation came between, so the queue holds about one
// entry per active run however far the link falls behind, and the order of events within
// a conversation is exactly the order of publication.
//
// Bound: past `max` entries, per-token frames are dropped; past twice that, everything
// is. Either way the next batch ends with a `_resync` control, which makes the other
// replicas re-read what they missed from the database and ask for fresh snapshots: a
// dropped token is one the resume path gives back.
import type { ServerFrame } from '../protocol/frames.js';
import type { BusEvent } from './bus.js';
import { isPerToken } from './bus.js';

// Bus-internal controls that travel in the same ordered stream as events.
export type Control =
  // `ch`: the sender's own channel, where per-token frames of `conv` reach it alone (a
  // replica that names none hears them with everything else)
  | { kind: '_watch'; conv: string; ch?: string }
  | { kind: '_unwatch'; conv: string }
  // the sender (re)connected: forget its interests (it re-announces them) and announce yours
  | { kind: '_hello' }
  // the sender dropped events: re-read and ask for snapshots
  | { kind: '_resync' }
  | { kind: '_bye' };

export type Item = BusEvent | Control;

export function isControl(i: Item): i is Control {
  return i.kind.startsWith('_');
}

export class Outbox {
  private items: Item[] = [];
  // index in `items` of the last entry of each conversation, for merging
  private readonly lastByConv = new Map<string, number>();
  private dropped = 0;
  droppedTotal = 0;

  constructor(readonly max = 20_000) {}

  get length(): number {
    return this.items.length;
  }

  push(item: Item): void {
    const conv = 'conv' in item && !isControl(item) ? item.conv : undefined;
    if (conv !== undefined && isPerToken(item as BusEvent)) {
      const j = this.lastByConv.get(conv);
      if (j !== undefined) {
        const merged = merge(this.items[j]!, item as BusEvent);
        if (merged) {
          this.items[j] = merged;
          return;
        }
      }
      if (this.items.length >= this.max) return this.drop();
    } else if (this.items.length >= 2 * this.max) return this.drop();
    this.items.push(item);
    if (conv !== undefined) this.lastByConv.set(conv, this.items.length - 1);
  }

  // Everything queued, in order; the queue starts empty again.
  take(): Item[] {
    const out = this.items;
    this.items = [];
    this.lastByConv.clear();
    if (this.dropped > 0) {
      out.push({ kind: '_resync' });
      this.dropped = 0;
    }
    return out;
  }

  private drop(): void {
    this.dropped++;
    this.droppedTotal++;
  }
}

// Whether frame b of a run follows on from frame a, so that the two can travel as one:
// the next offset of the same answer, or more text of the same thinking step.
export function followsOn(a: ServerFrame, b: ServerFrame): boolean {
  if (a.type === 'response.delta' && b.type === 'response.delta') return a.run_id === b.run_id && a.offset + a.delta.length === b.offset;
  if (a.type === 'agent.thinking' && b.type === 'agent.thinking') return a.run_id === b.run_id && a.step === b.step;
  return false;
}

// Appends b's text to a, a frame that b follows on from (followsOn), in place.
export function appendText(a: ServerFrame, b: ServerFrame): void {
  if (a.type === 'response.delta' && b.type === 'response.delta') a.delta += b.delta;
  else if (a.type === 'agent.thinking' && b.type === 'agent.thinking') a.text += b.text;
}

// The later of two frames of one run appended to the earlier, or undefined when they do
// not join: another run, a gap in offsets, another thinking step, or an addressed frame.
// A new object: the earlier one was already handed to local subscribers.
function merge(a: Item, b: BusEvent): BusEvent | undefined {
  if (a.kind !== 'frame' || b.kind !== 'frame' || a.only || a.except || b.only || b.except || !followsOn(a.frame, b.frame)) return undefined;
  const frame = { ...a.frame };
  appendText(frame, b.frame);
  return { ...a, frame };
}

// Where an item goes: a list of destinations (a replica's own channel), or undefined for
// every replica.
export type Route = (item: Item) => readonly string[] | undefined;

export interface Payload {
  to: string | undefined; // undefined: every replica
  body: string | Item; // a string is a ready payload; an item is too big for one
}

// Packs items into payloads of at most maxBytes (UTF-8) each: an item too big for any
// payload is returned as itself, to be sent by reference. `head` is the envelope's opening
// ('{"o":"…","n":', the number is added here).
//
// Order: a replica hears what goes to every replica and what goes to it, and must hear it
// in the order of `items`. Payloads are closed in that order: an item for every replica
// first closes the open payloads of single destinations, an addressed item first closes
// the open payload for every replica, so for each receiver its payloads, taken in the
// order returned, carry its items in the order given.
export function pack(items: Item[], head: string, firstN: number, maxBytes: number, route: Route = () => undefined): { payloads: Payload[]; next: number } {
  const payloads: Payload[] = [];
  let n = firstN;
  const open = new Map<string | undefined, { parts: string[]; bytes: number }>();
  const overhead = Buffer.byteLength(head) + 16 + 7; // n, ',"i":[', ']}'
  const close = (to: string | undefined) => {
    const p = open.get(to);
    if (p === undefined) return;
    open.delete(to);
    payloads.push({ to, body: `${head}${n++},"i":[${p.parts.join(',')}]}` });
  };
  const EVERYONE = [undefined];
  for (const it of items) {
    const dests = route(it);
    if (dests === undefined) {
      for (const to of [...open.keys()]) if (to !== undefined) close(to);
    } else if (dests.length === 0) continue;
    else close(undefined);
    const s = JSON.stringify(it);
    const b = Buffer.byteLength(s);
    for (const to of dests ?? EVERYONE) {
      if (b + overhead > maxBytes) {
        close(to);
        payloads.push({ to, body: it });
        continue;
      }
      let p = open.get(to);
      if (p !== undefined && p.bytes + b + 1 + overhead > maxBytes) {
        close(to);
        p = undefined;
      }
      if (p === undefined) open.set(to, (p = { parts: [], bytes: 0 }));
      p.parts.push(s);
      p.bytes += b + 1;
    }
  }
  for (const to of [...open.keys()]) close(to);
  return { payloads, next: n };
}
