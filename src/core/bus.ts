// Events that cross replicas. Every replica delivers frames to its own sockets; the bus
// carries them to the others (PostgreSQL LISTEN/NOTIFY in production). publish() hands
// an event to local subscribers synchronously, so ordering on one replica is exact.
import type { ServerFrame, SessionInfo } from '../protocol/frames.js';

export type BusEvent =
  // a frame for the sockets of a conversation; `only`/`except` address one session
  | { kind: 'frame'; conv: string; frame: ServerFrame; only?: string; except?: string }
  // a session joined a run in flight on another replica: its owner answers with a snapshot
  | { kind: 'snapshot_request'; conv: string; run_id: string; session: string }
  | { kind: 'cancel'; conv: string; run_id: string }
  // a replica's full list of its sessions in a conversation; `hello` asks others for theirs
  | { kind: 'presence'; conv: string; replica: string; sessions: SessionInfo[]; hello: boolean };

export interface Bus {
  readonly replicaId: string;
  publish(ev: BusEvent): void;
  // Called for every event, local or remote; `local` says which.
  subscribe(handler: (ev: BusEvent, local: boolean) => void): void;
  // Called after the remote link was lost and re-established: events may have been missed.
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

// Single-process bus: what a replica uses for its own events, and the whole bus in unit tests.
export class LocalBus implements Bus {
  private handlers: ((ev: BusEvent, local: boolean) => void)[] = [];
  constructor(readonly replicaId: string) {}
  publish(ev: BusEvent): void {
    for (const h of this.handlers) h(ev, true);
  }
  subscribe(handler: (ev: BusEvent, local: boolean) => void): void {
    this.handlers.push(handler);
  }
  onResync(): void {
    // nothing is ever missed within one process
  }
  async close(): Promise<void> {
    this.handlers = [];
  }
}
