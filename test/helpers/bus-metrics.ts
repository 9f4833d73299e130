// A BusMetrics that counts, so tests can see drops, publishes and the link's ups and downs.
import type { BusMetrics } from '../../src/core/bus-metrics.js';

export function countingMetrics() {
  const counts = {
    published: 0, received: 0, gaps: 0,
    dropped: new Map<string, number>(), // by reason
    drops: [] as string[], // "<kind> <reason>", in order
    connected: true,
    links: [] as boolean[], // every report of the link, in order
  };
  const m: BusMetrics = {
    published: () => void counts.published++,
    received: () => void counts.received++,
    lag: () => undefined,
    dropped: (kind, reason) => {
      counts.dropped.set(reason, (counts.dropped.get(reason) ?? 0) + 1);
      counts.drops.push(`${kind} ${reason}`);
    },
    gap: () => void counts.gaps++,
    pendingBytes: () => undefined,
    connected: (up) => {
      counts.connected = up;
      counts.links.push(up);
    },
    watched: () => undefined,
  };
  return { counts, m };
}
