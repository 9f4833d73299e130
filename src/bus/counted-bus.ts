// Counts what a bus that does not report itself carries (today the PostgreSQL bus): events
// handed to publish() and remote events delivered to subscribers. A bus that calls its
// BusMetrics itself (the NATS bus) is not wrapped, or it would be counted twice; the lag
// needs the publish time inside the bus's own envelope, so only such a bus observes it.
import type { Bus, BusEvent } from '../core/bus.js';
import type { BusMetrics } from '../core/bus-metrics.js';

export function countedBus(bus: Bus, metrics: BusMetrics): Bus {
  bus.subscribe((ev, local) => {
    if (!local) metrics.received(ev.kind, undefined);
  });
  return {
    get replicaId() {
      return bus.replicaId;
    },
    publish(ev: BusEvent) {
      bus.publish(ev);
      metrics.published(ev.kind);
    },
    subscribe: (handler) => bus.subscribe(handler),
    watch: (conv) => bus.watch(conv),
    onWatched: (h) => bus.onWatched(h),
    onResync: (h) => bus.onResync(h),
    close: () => bus.close(),
  };
}
