// One HTTP event stream following one run: observes the conversation's frames from the
// moment it is created (before the lookups that decide what to follow, so nothing
// published meanwhile is lost), queues them until the response is open, maps them to UI
// parts and writes them in order. The queue is bounded: past MAX_QUEUED frames the stream
// ends and the client resumes, which a GET serves from the run log.
import { randomBytes } from 'node:crypto';
import type { EventSink } from './event-sink.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { Message } from './message.js';
import type { Hub } from './hub.js';
import { UiStreamMapper, type UiEvent } from './ui-stream.js';

const MAX_QUEUED = 10_000;

export class RunFollower {
  readonly sessionId = `ui-${randomBytes(9).toString('base64url')}`;
  private readonly queue: ServerFrame[] = [];
  private readonly unobserve: () => void;
  private sink: EventSink | undefined;
  private runId: string | undefined;
  private mapper: UiStreamMapper | undefined;
  private pending: UiEvent[] = [];
  private pumping = false;
  private closed = false;
  private noRun = false;

  // dropUntilRun: a send's run announces its id before its first frame, so anything
  // earlier belongs to other runs; a resume keeps everything for the run it is about to pick.
  constructor(hub: Hub, conv: string, private readonly stored: (messageId: string) => Promise<Message | undefined>, private readonly log: Logger, private readonly dropUntilRun = false) {
    this.unobserve = hub.observe(conv, { sessionId: this.sessionId, deliver: (f) => this.deliver(f) });
  }

  // The run answering a POST (undefined: it never started, e.g. the server is stopping).
  followRun(runId: string | undefined): void {
    if (this.runId !== undefined) return;
    if (runId === undefined) this.noRun = true;
    else this.runId = runId;
    this.pump();
  }

  // A run already streaming, with the parts that set the stream up (replayed tools).
  followMapped(mapper: UiStreamMapper, initial: UiEvent[]): void {
    this.mapper = mapper;
    this.runId = mapper.runId;
    this.pending.push(...initial);
  }

  deliver(f: ServerFrame): void {
    if (this.closed || (this.dropUntilRun && this.runId === undefined)) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.log.warn({ session: this.sessionId, run: this.runId }, 'ui stream fell too far behind; closing it (the client resumes)');
      this.finish();
      return;
    }
    this.queue.push(f);
    this.pump();
  }

  attach(sink: EventSink): void {
    if (this.closed) {
      sink.end();
      return;
    }
    this.sink = sink;
    sink.onClose(() => this.close());
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unobserve();
    this.queue.length = 0;
  }

  private pump(): void {
    if (this.pumping || this.sink === undefined || this.closed) return;
    this.pumping = true;
    void this.drain().catch((err: unknown) => {
      this.log.error({ session: this.sessionId, ...errInfo(err) }, 'ui stream failed');
      this.write([{ id: '0:0', chunk: { type: 'error', errorText: 'internal: the stream failed; resume to continue' } }]);
      this.finish();
    }).finally(() => {
      this.pumping = false;
      if (this.queue.length > 0 && !this.closed && this.runId !== undefined) this.pump();
    });
  }

  private async drain(): Promise<void> {
    if (!this.write(this.pending.splice(0))) return;
    if (this.noRun && this.mapper === undefined) {
      this.write([{ id: '0:0', chunk: { type: 'error', errorText: 'unavailable: the run did not start (the server is stopping); send again' } }]);
      return this.finish();
    }
    while (this.queue.length > 0 && !this.closed && this.runId !== undefined) {
      const f = this.queue.shift()!;
      if (!('run_id' in f) || f.run_id !== this.runId) continue;
      if (this.mapper === undefined) {
        if (f.type !== 'run.started') continue;
        this.mapper = new UiStreamMapper(f.run_id, f.message_id, f.seq);
      }
      let events: UiEvent[];
      if (f.type === 'run.failed') {
        // run.failed is published after the partial answer is stored: that is its text.
        const m = await this.stored(f.message_id);
        events = this.mapper.failed(f, m?.content ?? '');
      } else events = this.mapper.frame(f);
      if (!this.write(events)) return;
      if (this.mapper.ended) return this.finish();
    }
  }

  private write(events: UiEvent[]): boolean {
    const sink = this.sink;
    if (sink === undefined || this.closed) return false;
    for (const e of events) {
      if (!sink.send({ id: e.id, data: JSON.stringify(e.chunk) })) {
        this.close();
        return false;
      }
    }
    return true;
  }

  private finish(): void {
    if (this.closed) return;
    this.sink?.send({ data: '[DONE]' });
    this.sink?.end();
    this.close();
  }
}
