import { describe, expect, it } from 'vitest';
import { LocalBus, type Bus, type BusEvent } from '../core/bus.js';
import { NO_BUS_METRICS } from '../core/bus-metrics.js';
import { countedBus } from './counted-bus.js';

// A bus whose "remote" side the test drives.
function fakeRemote(): Bus & { deliver(ev: BusEvent): void } {
  const local = new LocalBus('r1');
  const handlers: ((ev: BusEvent, local: boolean) => void)[] = [];
  return Object.assign(local, {
    subscribe: (h: (ev: BusEvent, local: boolean) => void) => {
      handlers.push(h);
      LocalBus.prototype.subscribe.call(local, h);
    },
    deliver: (ev: BusEvent) => handlers.forEach((h) => h(ev, false)),
  });
}

describe('countedBus', () => {
  it('counts each publish and each remote event once, whatever the number of subscribers', () => {
    const inner = fakeRemote();
    const seen = { published: 0, received: 0 };
    const bus = countedBus(inner, { ...NO_BUS_METRICS, published: () => void seen.published++, received: () => void seen.received++ });
    const got: boolean[] = [];
    bus.subscribe((_ev, local) => got.push(local));
    bus.subscribe(() => undefined);
    const ev: BusEvent = { kind: 'cancel', conv: 'c', run_id: 'r' };
    bus.publish(ev);
    inner.deliver(ev);
    inner.deliver(ev);
    expect(seen).toEqual({ published: 1, received: 2 });
    expect(got).toEqual([true, false, false]);
    expect(bus.replicaId).toBe('r1');
  });
});
