// Hits, misses and tokens saved per model, added up in memory and written to the analytics
// table once per interval: one upsert per model per interval, off the model call's path.
//
// Why: written and awaited per call, every model call waited for a round trip and a commit
// before its first token (or its replay), and every call updated the same (day, model)
// row, so concurrent calls queue on its lock. Now a burst of calls costs one upsert.
//
// Bound: one entry per model. A write that fails is added back and goes with the next one,
// so counts may be late but are not lost while the process runs; a crash loses at most one
// interval of them. Counts of the last interval before midnight (UTC) may land on the next day.
export interface Counts {
  hits: number;
  misses: number;
  tokensSaved: number;
}

export class CacheCounts {
  private pending = new Map<string, Counts>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (model: string, c: Counts) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  add(model: string, c: Counts): void {
    const p = this.pending.get(model);
    if (p === undefined) this.pending.set(model, { ...c });
    else {
      p.hits += c.hits;
      p.misses += c.misses;
      p.tokensSaved += c.tokensSaved;
    }
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  // Writes what has been added so far; one write at a time, a call during one waits for it
  // and then writes what came meanwhile.
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight.then(() => this.flush());
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    this.inFlight = (async () => {
      for (const [model, c] of batch) {
        try {
          await this.write(model, c);
        } catch (err) {
          this.add(model, c);
          this.onError(err);
        }
      }
    })().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  // Stops the timer and writes what is left (at shutdown).
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
