// SIGTERM while a Lease write is in flight: the real LeaderElector and OperatorLifecycle over an
// in-memory Lease whose writes the test lets land when it chooses.
import { Writable } from 'node:stream';
import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.js';
import type { Kube } from './kube.js';
import { LeaderElector } from './lease.js';
import { OperatorLifecycle } from './lifecycle.js';

/** One Lease in memory; while `hold` is set, writes wait until land() is called. */
class FakeLeases {
  lease: V1Lease | undefined;
  hold = false;
  /** The next write fails with this, without reaching the Lease. */
  failNext: Error | undefined;
  writes = 0;
  private held: (() => void)[] = [];

  get pending(): number {
    return this.held.length;
  }

  land(): void {
    this.hold = false;
    for (const go of this.held.splice(0)) go();
  }

  readLease = async (): Promise<V1Lease | undefined> => structuredClone(this.lease);
  createLease = (lease: V1Lease): Promise<V1Lease> => this.write(lease);
  replaceLease = (lease: V1Lease): Promise<V1Lease> => this.write(lease);

  private write(lease: V1Lease): Promise<V1Lease> {
    this.writes++;
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail) return Promise.reject(fail);
    const commit = () => {
      this.lease = structuredClone(lease);
      return lease;
    };
    if (!this.hold) return Promise.resolve(commit());
    return new Promise((resolve) => this.held.push(() => resolve(commit())));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup() {
  const leases = new FakeLeases();
  const lines: { msg: string }[] = [];
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        cb();
      },
    }),
  );
  const elector = new LeaderElector(leases as unknown as Kube, { namespace: 'ops', name: 'lease', identity: 'me', durationS: 15, renewS: 0.01 }, log);
  const controllerStopped = deferred();
  const order: string[] = [];
  const controller = {
    start: vi.fn(async () => void order.push('controller started')),
    stop: vi.fn(async () => {
      await controllerStopped.promise;
      order.push('controller stopped');
    }),
  };
  const gauge: number[] = [];
  const exit = vi.fn();
  const lifecycle = new OperatorLifecycle(controller, elector, { set: (v) => void gauge.push(v) }, log, exit);
  const messages = () => lines.map((l) => l.msg);
  return { leases, lifecycle, controller, controllerStopped, order, gauge, exit, messages };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('OperatorLifecycle with a LeaderElector', () => {
  it.each([
    ['while the controller is stopping', false],
    ['after the controller stopped', true],
  ])('a standby whose acquisition lands after SIGTERM (%s) never leads and gives the Lease back', async (_when, controllerFirst) => {
    const t = setup();
    t.leases.hold = true;
    t.lifecycle.run();
    await vi.waitFor(() => expect(t.leases.pending).toBe(1)); // the create is in flight
    const stopped = t.lifecycle.stop();
    if (controllerFirst) t.controllerStopped.resolve();
    await settle();
    t.leases.land(); // the Lease is now ours, but stop has begun
    await settle();
    t.controllerStopped.resolve();
    await stopped;
    expect(t.messages()).not.toContain('became leader');
    expect(t.controller.start).not.toHaveBeenCalled();
    expect(t.gauge).not.toContain(1);
    expect(t.gauge.at(-1)).toBe(0);
    // Released at once, not left to expire.
    expect(t.leases.lease?.spec?.holderIdentity).toBeUndefined();
    expect(t.exit).not.toHaveBeenCalled();
  });

  it('a leader renewing during SIGTERM does not claim leadership again, and releases only after the controller stopped', async () => {
    const t = setup();
    t.lifecycle.run();
    await vi.waitFor(() => expect(t.controller.start).toHaveBeenCalledTimes(1));
    expect(t.gauge.at(-1)).toBe(1);
    t.leases.hold = true;
    await vi.waitFor(() => expect(t.leases.pending).toBe(1)); // a renewal is in flight
    const stopped = t.lifecycle.stop();
    t.leases.land();
    await settle();
    // Still the holder while the controller finishes: nobody else may act yet.
    expect(t.leases.lease?.spec?.holderIdentity).toBe('me');
    t.controllerStopped.resolve();
    await stopped;
    expect(t.messages().filter((m) => m === 'became leader')).toHaveLength(1);
    expect(t.controller.start).toHaveBeenCalledTimes(1);
    expect(t.order).toEqual(['controller started', 'controller stopped']);
    expect(t.leases.lease?.spec?.holderIdentity).toBeUndefined();
    expect(t.gauge.at(-1)).toBe(0);
    expect(t.exit).not.toHaveBeenCalled();
  });

  it('a leader whose renewal write is cut off by a dropped connection stays leader and renews again', async () => {
    const t = setup();
    t.lifecycle.run();
    await vi.waitFor(() => expect(t.controller.start).toHaveBeenCalledTimes(1));
    const reset = Object.assign(new Error('request to https://127.0.0.1/ failed, reason: read ECONNRESET'), { code: 'ECONNRESET' });
    t.leases.failNext = reset;
    await vi.waitFor(() => expect(t.leases.failNext).toBeUndefined());
    const after = t.leases.writes;
    await vi.waitFor(() => expect(t.leases.writes).toBeGreaterThan(after + 1)); // renewing again
    // Nothing says another replica holds the Lease: only the renew deadline may end leadership.
    expect(t.messages()).not.toContain('lost leadership');
    expect(t.exit).not.toHaveBeenCalled();
    expect(t.leases.lease?.spec?.holderIdentity).toBe('me');
    t.controllerStopped.resolve();
    await t.lifecycle.stop();
  });
});
