// What a bus reports about itself, whatever carries it (PostgreSQL NOTIFY, NATS). A port:
// the metrics adapter implements it, buses call it, and unit tests pass NO_BUS_METRICS.
import type { BusEvent } from './bus.js';

// The label an event is counted under: the frame type for frames (so per-token frames
// can be told apart), else the event kind.
export function eventKind(ev: BusEvent): string {
  return ev.kind === 'frame' ? ev.frame.type : ev.kind;
}

export interface BusMetrics {
  // an event handed to the remote link; `kind` as eventKind() gives it
  published(kind: string): void;
  // an event received from another replica
  received(kind: string): void;
  // a bus message (one NOTIFY payload, one NATS message: many events) received from another
  // replica `lagMs` after it was published (clocks of two hosts: a skew between them shows
  // here too)
  lag(lagMs: number): void;
  // an event not sent to other replicas; `reason` says why (they are told to resync)
  dropped(kind: string, reason: 'disconnected' | 'buffer_full' | 'publish_error'): void;
  // a skipped sequence number in another replica's events: this replica re-reads
  gap(): void;
  // bytes handed to the link and not yet confirmed by the server
  pendingBytes(bytes: number): void;
  connected(up: boolean): void;
  // conversations this replica currently receives remote events for
  watched(count: number): void;
}

export const NO_BUS_METRICS: BusMetrics = {
  published: () => undefined,
  received: () => undefined,
  lag: () => undefined,
  dropped: () => undefined,
  gap: () => undefined,
  pendingBytes: () => undefined,
  connected: () => undefined,
  watched: () => undefined,
};
