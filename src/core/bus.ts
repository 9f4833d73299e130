// Events that cross replicas. Every replica delivers frames to its own sockets; the bus
// carries them to the others (PostgreSQL LISTEN/NOTIFY by default). publish() hands an
// event to local subscribers synchronously, so ordering on one replica is exact.
//
// Routing: a replica watches a conversation while it has sockets in it or runs an answer
// in it. A bus must deliver to a replica the remote events of every conversation that
// replica watches; it may deliver others too (subscribers ignore what they do not need),
// but a bus that scales out delivers only those.
import type { ServerFrame, SessionInfo } from '../protocol/frames.js';

export type BusEvent =
  // a frame for the sockets of a conversation; `only`/`except` address one session
  | { kind: 'frame'; conv: string; frame: ServerFrame; only?: string; except?: string }
  // a session joined a run in flight on another replica: its owner answers with a snapshot
  | { kind: 'snapshot_request'; conv: string; run_id: string; session: string }
  | { kind: 'cancel'; conv: string; run_id: string }
  // a replica's full list of its sessions in a conversation; `hello` asks others for theirs
  | { kind: 'presence'; conv: string; replica: string; sessions: SessionInfo[]; hello: boolean };

// Frames sent once per token. A bus may route these more sparingly than the rest (e.g.
// only to replicas known to watch the conversation). A replica that starts watching
// mid-run asks the run's owner for a snapshot when it joins (the ownership query names the
// run); one that joined in the instant before the run's answer row existed may miss the
// first deltas, and gets the full text with the terminal frame.
export function isPerToken(ev: BusEvent): boolean {
  return ev.kind === 'frame' && (ev.frame.type === 'response.delta' || ev.frame.type === 'agent.thinking');
}

export interface Bus {
  readonly replicaId: string;
  publish(ev: BusEvent): void;
  // Called for every event, local or remote; `local` says which.
  subscribe(handler: (ev: BusEvent, local: boolean) => void): void;
  // Declares interest in a conversation's remote events; reference-counted, so the hub
  // (sockets) and the run manager (runs) can watch the same conversation independently.
  // Returns the release; releasing twice is harmless.
  watch(conv: string): () => void;
  // Called when remote events may have been missed: after the link was lost and
  // re-established (`convs` undefined: every conversation), or for the conversations where
  // a gap was noticed or a publisher said it dropped events.
  onResync(handler: (convs?: readonly string[]) => void): void;
  // Called once this replica's own link is back after an outage in which what it published
  // may have been lost without a trace (the NATS client discards its queue on redial), and
  // before anything published afterwards leaves: what a handler publishes (a snapshot of
  // each answer running here) reaches the watchers ahead of the tokens that follow. A bus
  // that reports its lost publishes otherwise (PostgreSQL: `_resync`) need not offer it.
  onLinkRestored?(handler: () => void): void;
  close(): Promise<void>;
}

// Counts watchers per conversation: what every bus needs to know when the first
// watcher arrives and the last one leaves.
export class WatchCounts {
  private readonly counts = new Map<string, number>();
  constructor(private readonly changed: (conv: string, watched: boolean) => void) {}

  watch(conv: string): () => void {
    const n = this.counts.get(conv) ?? 0;
    this.counts.set(conv, n + 1);
    if (n === 0) this.changed(conv, true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(conv) ?? 1) - 1;
      if (left > 0) return void this.counts.set(conv, left);
      this.counts.delete(conv);
      this.changed(conv, false);
    };
  }

  has(conv: string): boolean {
    return this.counts.has(conv);
  }

  conversations(): IterableIterator<string> {
    return this.counts.keys();
  }

  get size(): number {
    return this.counts.size;
  }
}

// Single-process bus: what a replica uses for its own events, and the whole bus in unit tests.
export class LocalBus implements Bus {
  private handlers: ((ev: BusEvent, local: boolean) => void)[] = [];
  private readonly watches = new WatchCounts(() => undefined);
  constructor(readonly replicaId: string) {}
  publish(ev: BusEvent): void {
    for (const h of this.handlers) h(ev, true);
  }
  subscribe(handler: (ev: BusEvent, local: boolean) => void): void {
    this.handlers.push(handler);
  }
  watch(conv: string): () => void {
    return this.watches.watch(conv);
  }
  watched(conv: string): boolean {
    return this.watches.has(conv);
  }
  onResync(_handler: (convs?: readonly string[]) => void): void {
    // nothing is ever missed within one process
  }
  async close(): Promise<void> {
    this.handlers = [];
  }
}
