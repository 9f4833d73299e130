// The PostgreSQL bus against the shared bus contract (test/integration/bus-contract.ts).
// It routes only per-token frames (deltas, thinking) by watch and sends every other event
// to every replica, so the strict routing case does not apply (routes: false); its
// per-token routing is tested with real servers in ws-replicas.test.ts. Then a NOTIFY
// batch that fails: the watches it carried are announced again.
import { randomUUID } from 'node:crypto';
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
      if (failed.length === 0 && payloads.some((p) => p.includes(`{"kind":"_watch","conv":"${conv}"}`))) {
        failed.push(payloads);
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
