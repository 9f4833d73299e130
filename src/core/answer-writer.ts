// Persists the text of every streaming answer of this process: once per interval, one
// store call carries, for each answer with new text, the text since its last successful
// flush. A crash therefore loses at most one interval of an answer, and the cost per
// token does not grow with the answer's length. A failed flush is not lost: the next one
// starts at the same offset with the text that has grown meanwhile.
// The writer is handed each delta and keeps only the text not yet stored. Slicing that
// text out of the answer instead flattened the whole answer (built by `+=`, a rope) at
// every flush: a copy of everything so far, four times a second, for every run.
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';

export interface AnswerChunk {
  messageId: string;
  offset: number;
  text: string;
}

export interface ChunkStore {
  appendChunks(chunks: AnswerChunk[]): Promise<void>;
}

export interface Streaming {
  readonly messageId: string;
}

interface Tracked {
  run: Streaming;
  saved: number; // length of the prefix known to be stored
  unsaved: string; // the text after it
}

export class AnswerWriter {
  private readonly tracked = new Map<Streaming, Tracked>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly store: ChunkStore, readonly intervalMs: number, private readonly log: Logger) {}

  // Returns what the run calls as its answer grows: it holds the run's entry, so a token
  // costs no lookup. Text appended after release() is never written.
  track(run: Streaming): (text: string) => void {
    const t: Tracked = { run, saved: 0, unsaved: '' };
    this.tracked.set(run, t);
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    return (text) => { t.unsaved += text; };
  }

  // The run has ended: no further flush writes for it once this resolves, so its final
  // write (which drops its chunks) cannot be followed by a late chunk.
  async release(run: Streaming): Promise<void> {
    this.tracked.delete(run);
    if (this.tracked.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    await this.inFlight;
  }

  // One flush at a time: a tick that finds one in flight leaves its text to the next.
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const batch: { t: Tracked; chunk: AnswerChunk }[] = [];
    for (const t of this.tracked.values()) {
      if (t.unsaved !== '') batch.push({ t, chunk: { messageId: t.run.messageId, offset: t.saved, text: t.unsaved } });
    }
    if (batch.length === 0) return Promise.resolve();
    this.inFlight = this.store.appendChunks(batch.map((b) => b.chunk)).then(
      () => {
        for (const { t, chunk } of batch) {
          // appends went on while the write was in flight: keep what came after the chunk
          t.saved += chunk.text.length;
          t.unsaved = t.unsaved.length === chunk.text.length ? '' : t.unsaved.slice(chunk.text.length);
        }
        if (this.failures > 0) this.log.info({ failures: this.failures }, 'saving streaming answers works again');
        this.failures = 0;
      },
      (err: unknown) => {
        // Logged once per outage, not once per tick.
        if (this.failures++ === 0) this.log.warn({ answers: batch.length, ...errInfo(err) }, 'saving streaming answers failed; retrying with the next flush');
      },
    ).finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  get size(): number {
    return this.tracked.size;
  }
}
