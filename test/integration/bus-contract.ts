// What every cross-replica bus must do, as a suite any bus can run: a factory gives
// buses that are replicas of one deployment (same database, same NATS). Used by
// nats-bus.test.ts and pg-bus-contract.test.ts.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusEvent } from '../../src/core/bus.js';

export interface BusContractOptions {
  // a new replica's bus; the suite closes it
  replica: () => Promise<Bus>;
  // delivers a conversation's remote events only to replicas watching it
  routes: boolean;
}

export interface Received {
  events: { ev: BusEvent; local: boolean }[];
  remote(conv?: string): BusEvent[];
  // resolves with the first remote event matching pred
  next(pred: (ev: BusEvent) => boolean, timeoutMs?: number): Promise<BusEvent>;
}

export function record(bus: Bus): Received {
  const events: { ev: BusEvent; local: boolean }[] = [];
  const waiters: (() => void)[] = [];
  bus.subscribe((ev, local) => {
    events.push({ ev, local });
    for (const w of waiters.splice(0)) w();
  });
  const remote = (conv?: string) => events.filter((e) => !e.local && (conv === undefined || e.ev.conv === conv)).map((e) => e.ev);
  return {
    events,
    remote,
    async next(pred, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = remote().find(pred);
        if (hit) return hit;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching remote event within ${timeoutMs} ms; got ${JSON.stringify(remote().map((e) => e.kind))}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

export const delta = (conv: string, run: string, offset: number, text: string): BusEvent => ({
  kind: 'frame', conv, frame: { type: 'response.delta', run_id: run, message_id: run, offset, delta: text },
});

// A marker event: once it arrives, everything a replica published before it has too.
export const marker = (conv: string, id: string): BusEvent => ({ kind: 'frame', conv, frame: { type: 'resync', reason: id } });
export const isMarker = (id: string) => (ev: BusEvent) => ev.kind === 'frame' && ev.frame.type === 'resync' && ev.frame.reason === id;

// watch() takes effect on the bus's own schedule (a SUBSCRIBE or LISTEN on its own
// connection), unordered with other replicas' publishes: wait until `sub` hears `pub`.
export async function untilHearing(pub: Bus, sub: Received, conv: string): Promise<void> {
  const id = `ready-${Math.random()}`;
  for (let i = 0; i < 200; i++) {
    pub.publish(marker(conv, id));
    try {
      await sub.next(isMarker(id), 25);
      return;
    } catch {
      // not yet subscribed: publish the marker again
    }
  }
  throw new Error('the watching replica never heard the publisher');
}

// Remote events after the readiness markers.
const after = (r: Received, conv: string) => r.remote(conv).filter((e) => !(e.kind === 'frame' && e.frame.type === 'resync' && e.frame.reason.startsWith('ready-')));

export function busContract(name: string, o: BusContractOptions): void {
  describe(`bus contract: ${name}`, () => {
    const open: Bus[] = [];
    const replica = async () => {
      const b = await o.replica();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers one publisher\'s frames to a watching replica in order, and each event locally at once', async () => {
      const [a, b] = [await replica(), await replica()];
      const ra = record(a);
      const rb = record(b);
      const conv = randomUUID();
      const run = randomUUID();
      b.watch(conv);
      a.watch(conv);
      await untilHearing(a, rb, conv);
      // and a has learnt of b's watch: it was announced on b's link before this marker
      await untilHearing(b, ra, conv);
      const localBefore = ra.events.filter((e) => e.local).length;
      let text = '';
      for (let i = 0; i < 500; i++) {
        const piece = `t${i} `;
        a.publish(delta(conv, run, text.length, piece));
        text += piece;
      }
      a.publish(marker(conv, 'end'));
      expect(ra.events.filter((e) => e.local).length - localBefore).toBe(501); // synchronous, before any network
      await rb.next(isMarker('end'));
      let assembled = '';
      for (const ev of after(rb, conv)) if (ev.kind === 'frame' && ev.frame.type === 'response.delta') {
        expect(ev.frame.offset).toBe(assembled.length); // coalescing is allowed, reordering is not
        assembled += ev.frame.delta;
      }
      expect(assembled).toBe(text);
      expect(after(ra, conv)).toHaveLength(0); // a replica never hears its own events as remote
    });

    it('carries snapshot requests, cancels and presence to the replica that watches the conversation', async () => {
      const [runner, other] = [await replica(), await replica()];
      const rr = record(runner);
      const ro = record(other);
      const conv = randomUUID();
      const run = randomUUID();
      runner.watch(conv);
      other.watch(conv);
      await untilHearing(other, rr, conv);
      await untilHearing(runner, ro, conv);
      other.publish({ kind: 'snapshot_request', conv, run_id: run, session: 's1' });
      other.publish({ kind: 'cancel', conv, run_id: run });
      other.publish({ kind: 'presence', conv, replica: other.replicaId, sessions: [{ session_id: 's1', user_id: 'u' }], hello: true });
      await rr.next((ev) => ev.kind === 'presence');
      expect(after(rr, conv).map((e) => e.kind)).toEqual(['snapshot_request', 'cancel', 'presence']);
      runner.publish({ kind: 'presence', conv, replica: runner.replicaId, sessions: [], hello: false });
      expect((await ro.next((ev) => ev.kind === 'presence')).kind).toBe('presence');
    });

    it.runIf(o.routes)('delivers nothing of a conversation to a replica that does not watch it, and stops when the last watch is released', async () => {
      const [a, b, c] = [await replica(), await replica(), await replica()];
      const rb = record(b);
      const rc = record(c);
      const conv = randomUUID();
      const other = randomUUID();
      const release1 = b.watch(conv);
      const release2 = b.watch(conv); // reference-counted: the hub and a run both hold one
      c.watch(other);
      await untilHearing(a, rb, conv);
      await untilHearing(a, rc, other);
      for (let i = 0; i < 50; i++) a.publish(delta(conv, 'r', i, 'x'));
      a.publish(marker(conv, 'one'));
      a.publish(marker(other, 'other'));
      await rb.next(isMarker('one'));
      await rc.next(isMarker('other'));
      expect(rc.remote(conv)).toHaveLength(0);
      expect(rb.remote(other)).toHaveLength(0);
      release1();
      release1(); // twice is harmless
      a.publish(marker(conv, 'two'));
      await rb.next(isMarker('two'));
      release2();
      a.publish(marker(conv, 'three'));
      a.publish(marker(other, 'other-2'));
      await rc.next(isMarker('other-2'));
      // c's marker went out after b's; one publisher's order holds across subjects on NATS,
      // but give a slower bus a round trip of its own before concluding nothing came.
      const d = await replica();
      const rd = record(d);
      d.watch(other);
      await untilHearing(a, rd, other);
      expect(rb.remote(conv).some(isMarker('three'))).toBe(false);
    });
  });
}
