// The PostgreSQL bus against the shared bus contract (test/integration/bus-contract.ts).
// It routes only per-token frames (deltas, thinking) by watch and sends every other event
// to every replica, so the strict routing case does not apply (routes: false); its
// per-token routing is tested with real servers in ws-replicas.test.ts. Then a NOTIFY
// batch that fails: the watches it carried are announced again.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/bus.js';
import type { Db } from '../../src/db/client.js';
import { createPgBus, type NotifySend } from '../../src/db/pg-bus.js';
import { createLogger } from '../../src/log.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { busContract, delta, isMarker, marker, record, untilHearing } from './bus-contract.js';

let tdb: TestDatabase & { db: Db };
beforeAll(async () => {
  tdb = await createMigratedDatabase('pg_bus_contract');
});
afterAll(async () => {
  await tdb?.drop();
});

busContract('postgres', { replica: () => createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID()), routes: false });

describe('a failed NOTIFY batch', () => {
  const open: Bus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  it('is followed by our watches in full, so the others route per-token frames to us again without waiting for our listener to reconnect', async () => {
    const conv = randomUUID();
    const failed: string[][] = [];
    // The sending link fails once, on the batch that announces our watch of conv.
    const wrapSend = (send: NotifySend): NotifySend => async (payloads) => {
      if (failed.length === 0 && payloads.some((p) => p.payload.includes(`{"kind":"_watch","conv":"${conv}"`))) {
        failed.push(payloads.map((p) => p.payload));
        throw new Error('injected: the NOTIFY round trip failed');
      }
      await send(payloads);
    };
    const watcher = await createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID(), { wrapSend });
    open.push(watcher);
    const runner = await createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID());
    open.push(runner);
    const [rw, rr] = [record(watcher), record(runner)];
    // each has heard the other's hello and announcements (they precede these markers)
    const warm = randomUUID();
    await untilHearing(runner, rw, warm);
    await untilHearing(watcher, rr, warm);

    let resynced = 0;
    runner.onResync(() => void resynced++);
    watcher.watch(conv);
    await expect.poll(() => resynced, { timeout: 10_000 }).toBe(1);
    expect(failed).toHaveLength(1);
    // the retried batch (its _resync and then the announcement) has been applied by the runner
    runner.publish(delta(conv, 'r', 0, 'token'));
    runner.publish(marker(conv, 'after'));
    await rw.next(isMarker('after'));
    expect(rw.remote(conv).filter((e) => e.kind === 'frame' && e.frame.type === 'response.delta')).toHaveLength(1);
  });
});

describe('lingering between batches (BUS_LINGER_MS)', () => {
  const open: Bus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  const pair = async (sender: { lingerMs: number; now?: () => number }) => {
    const sent: string[][] = [];
    const wrapSend = (send: NotifySend): NotifySend => async (payloads) => {
      // recorded when handed to the link: the other replica may hear it before we hear back
      sent.push(payloads.map((p) => p.payload));
      await send(payloads);
    };
    const a = await createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID(), { ...sender, wrapSend });
    open.push(a);
    const b = await createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID());
    open.push(b);
    return { a, rb: record(b), sent };
  };
  const batchesCarrying = (sent: string[][], ids: string[]) => sent.filter((payloads) => ids.some((id) => payloads.some((p) => p.includes(`"reason":"${id}"`))));

  it('sends what is published while the bus is busy in one round trip, however many turns of the event loop it spans', async () => {
    const conv = randomUUID();
    const { a, rb, sent } = await pair({ lingerMs: 2000 });
    a.publish(marker(conv, 'first'));
    await rb.next(isMarker('first'), 10_000);
    // Each in its own turn: with no linger each would leave as soon as it is published.
    const later = ['b', 'c', 'd'];
    for (const id of later) {
      a.publish(marker(conv, id));
      await new Promise((r) => setImmediate(r));
    }
    await rb.next(isMarker('d'), 10_000);
    expect(batchesCarrying(sent, later)).toHaveLength(1);
    expect(rb.remote(conv).map((e) => e.kind === 'frame' && e.frame.type === 'resync' && e.frame.reason)).toEqual(['first', ...later]);
  });

  it('sends at once what is published after a quiet spell longer than the linger', async () => {
    const conv = randomUUID();
    let clock = 0;
    // A minute's linger: a batch that waited for it would outlast the test.
    const { a, rb } = await pair({ lingerMs: 60_000, now: () => clock });
    clock += 60_001;
    a.publish(marker(conv, 'first'));
    await rb.next(isMarker('first'), 10_000);
    clock += 60_001;
    a.publish(marker(conv, 'after a quiet minute'));
    await rb.next(isMarker('after a quiet minute'), 10_000);
  });
});

describe('per-token frames on the watchers\' own channels', () => {
  const open: Bus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  const bus = async () => {
    const b = await createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID());
    open.push(b);
    return b;
  };
  const deltas = (r: ReturnType<typeof record>, conv: string) => r.remote(conv).filter((e) => e.kind === 'frame' && e.frame.type === 'response.delta');

  it('reach only the replicas that watch the conversation; everything else reaches every replica', async () => {
    const conv = randomUUID();
    const [runner, watcher, bystander] = [await bus(), await bus(), await bus()];
    const [rw, rb] = [record(watcher), record(bystander)];
    watcher.watch(conv);
    await untilHearing(runner, rw, conv);
    await untilHearing(runner, rb, conv);
    // the runner has the watcher's announcement once a delta reaches it
    for (let i = 0; deltas(rw, conv).length === 0; i++) {
      if (i > 200) throw new Error('the watcher never received a delta');
      runner.publish(delta(conv, 'warm', i, 'x'));
      await new Promise((r) => setTimeout(r, 25));
    }
    runner.publish(delta(conv, 'r', 0, 'one'));
    runner.publish(marker(conv, 'between'));
    runner.publish(delta(conv, 'r', 3, 'two'));
    runner.publish(marker(conv, 'end'));
    await rw.next(isMarker('end'));
    await rb.next(isMarker('end'));
    const run = (r: ReturnType<typeof record>) => r.remote(conv).filter((e) => (e.kind === 'frame' && e.frame.type === 'response.delta' && e.frame.run_id === 'r') || isMarker('between')(e) || isMarker('end')(e));
    expect(run(rw).map((e) => (e.kind === 'frame' && e.frame.type === 'response.delta' ? e.frame.delta : 'marker'))).toEqual(['one', 'marker', 'two', 'marker']);
    expect(deltas(rb, conv)).toEqual([]);
    expect(rb.remote(conv).filter((e) => isMarker('between')(e) || isMarker('end')(e))).toHaveLength(2);
  });

  it('reach a replica that names no channel of its own (an older version) on the shared channel', async () => {
    const conv = randomUUID();
    const runner = await bus();
    // an older replica: listens on the shared channel only, announces its watch without a channel
    const old = postgres(tdb.url, { max: 1, onnotice: () => undefined });
    const heard: string[] = [];
    const sub = await old.listen('chat_backend_events', (p) => void heard.push(p));
    try {
      const oldId = `old-${randomUUID()}`;
      await old`SELECT pg_notify('chat_backend_events', ${JSON.stringify({ o: oldId, n: 0, i: [{ kind: '_watch', conv }] })})`;
      for (let i = 0; !heard.some((p) => p.includes('"delta":"found"')); i++) {
        if (i > 200) throw new Error('the older replica never received a delta');
        runner.publish(delta(conv, 'r', i, 'found'));
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await sub.unlisten();
      await old.end();
    }
  });
});
