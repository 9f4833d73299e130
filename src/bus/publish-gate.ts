// The bound on what a replica has published and NATS has not yet confirmed. The NATS
// client queues without limit (and discards its queue when it reconnects), so the bus
// keeps its own account: bytes handed to the client since the last flush (PING/PONG)
// returned. At the bound, and while the link is down, events are dropped instead of
// queued; their conversations are remembered, and once the backlog is gone (or the link
// is back, or the oldest drop has waited hintAfterMs under a backlog that never empties)
// the other replicas watching them are told to re-read them from the database.
// Past maxRemembered conversations the gate stops listing them and asks every replica to
// re-read everything instead (one broadcast), so no conversation is left without a hint.
export interface PublishGateOptions {
  maxPendingBytes: number;
  flush: () => Promise<void>;
  hint: (convs: string[]) => void;
  // every replica re-reads all it serves: for when too many conversations were dropped to list
  hintAll: () => void;
  maxRemembered?: number;
  // under a backlog that never empties, hints wait at most this long after the first drop
  // (a dropped terminal frame leaves no later gap for the watchers to notice)
  hintAfterMs?: number;
  now?: () => number;
  pending?: (bytes: number) => void;
  onError?: (err: unknown) => void;
}

// A replica publishes to a handful of conversations per second per answer; far more
// distinct dropped conversations than this are cheaper to resync all at once.
export const MAX_REMEMBERED = 10_000;
// A second of missing deltas is visible but short; hinting every flush would make the
// watchers re-read the database while the publisher is already overloaded.
export const HINT_AFTER_MS = 1000;

export class PublishGate {
  private unconfirmed = 0;
  private flushing = false;
  private connected = true;
  private closed = false;
  // bumped at each reconnect, so a flush from before it cannot settle today's account
  private generation = 0;
  private readonly dirty = new Set<string>();
  // more conversations were dropped than the set holds: the next hint goes to everyone
  private overflow = false;
  // when the oldest drop not yet hinted happened
  private dirtySince = 0;

  private readonly now: () => number;
  private readonly hintAfterMs: number;

  constructor(private readonly o: PublishGateOptions) {
    this.now = o.now ?? Date.now;
    this.hintAfterMs = o.hintAfterMs ?? HINT_AFTER_MS;
  }

  get pendingBytes(): number {
    return this.unconfirmed;
  }

  admit(conv: string): 'ok' | 'disconnected' | 'buffer_full' {
    if (!this.connected || this.closed) return this.drop(conv, 'disconnected');
    if (this.unconfirmed >= this.o.maxPendingBytes) return this.drop(conv, 'buffer_full');
    return 'ok';
  }

  sent(bytes: number): void {
    this.unconfirmed += bytes;
    this.schedule();
  }

  // a publish the client refused: the same as a drop
  failed(conv: string): void {
    this.drop(conv, 'disconnected');
  }

  down(): void {
    this.connected = false;
  }

  // Everything handed over before the reconnect is either delivered or lost; the
  // conversations still watched may have lost some of it, so they are hinted as well.
  up(watched: Iterable<string>): void {
    this.connected = true;
    this.generation++;
    this.unconfirmed = 0;
    this.flushing = false;
    this.o.pending?.(0);
    for (const conv of watched) this.remember(conv);
    this.sendHints();
  }

  close(): void {
    this.closed = true;
  }

  // Events were dropped before reaching the gate, conversations unknown: the next hint
  // asks every replica to re-read.
  overflowed(): void {
    this.markDirty();
    this.overflow = true;
    this.dirty.clear();
    if (this.unconfirmed === 0 && !this.flushing) this.sendHints();
  }

  private drop<R extends 'disconnected' | 'buffer_full'>(conv: string, reason: R): R {
    this.remember(conv);
    return reason;
  }

  private markDirty(): void {
    if (this.dirty.size === 0 && !this.overflow) this.dirtySince = this.now();
  }

  private remember(conv: string): void {
    if (this.overflow || this.dirty.has(conv)) return;
    this.markDirty();
    if (this.dirty.size < (this.o.maxRemembered ?? MAX_REMEMBERED)) return void this.dirty.add(conv);
    this.overflow = true;
    this.dirty.clear();
  }

  private sendHints(): void {
    if ((this.dirty.size === 0 && !this.overflow) || !this.connected || this.closed) return;
    if (this.overflow) {
      this.overflow = false;
      return this.o.hintAll();
    }
    const convs = [...this.dirty];
    this.dirty.clear();
    this.o.hint(convs);
  }

  private schedule(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    const gen = this.generation;
    const covered = this.unconfirmed;
    // One round trip covers every publish before it; publishes meanwhile wait for the next.
    setImmediate(() => {
      this.o.flush().then(
        () => {
          if (gen !== this.generation) return;
          this.unconfirmed = Math.max(0, this.unconfirmed - covered);
          this.flushing = false;
          this.o.pending?.(this.unconfirmed);
          if (this.unconfirmed === 0 || this.now() - this.dirtySince >= this.hintAfterMs) this.sendHints();
          if (this.unconfirmed > 0) this.schedule();
        },
        (err: unknown) => {
          // Disconnected: up() resets the account when the link is back.
          if (gen === this.generation) this.flushing = false;
          this.o.onError?.(err);
        },
      );
    });
  }
}
