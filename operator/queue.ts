// A work queue keyed by resource: events for a key coalesce while it waits, a key is never
// processed by two workers at once (an event during processing marks it dirty and it runs
// again afterwards), failures retry with exponential backoff, and a pass may ask to be rerun.
export interface QueueOptions {
  workers: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onDepth?: (depth: number) => void;
  onRetry?: () => void;
}

export type Outcome = { requeueAfterMs?: number };


export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sleepers: (() => void)[] = [];
  private stopped = false;
  private running: Promise<void>[] = [];

  constructor(private readonly handler: (key: string) => Promise<Outcome>, private readonly opts: QueueOptions) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return; // coalesced
    this.waiting.add(key);
    this.order.push(key);
    this.opts.onDepth?.(this.order.length);
    this.sleepers.shift()?.();
  }

  /** Adds the key after a delay; an earlier delayed add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    t.unref();
    this.timers.set(key, t);
  }

  get depth(): number {
    return this.order.length;
  }

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.running.push(this.worker());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.sleepers.splice(0)) wake();
    await Promise.all(this.running);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.order.shift();
      if (key !== undefined) {
        this.waiting.delete(key);
        this.opts.onDepth?.(this.order.length);
        return key;
      }
      await new Promise<void>((resolve) => this.sleepers.push(resolve));
    }
    return undefined;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.active.add(key);
      let outcome: Outcome | undefined;
      let failed = false;
      try {
        outcome = await this.handler(key);
      } catch {
        failed = true; // the handler reports and counts its own errors; here it only means retry
      }
      this.active.delete(key);
      if (failed) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        this.opts.onRetry?.();
        this.addAfter(key, Math.min((this.opts.baseDelayMs ?? 500) * 2 ** (n - 1), this.opts.maxDelayMs ?? 60_000));
      } else {
        this.failures.delete(key);
        if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
      }
      if (this.dirty.delete(key)) this.add(key);
    }
  }
}
