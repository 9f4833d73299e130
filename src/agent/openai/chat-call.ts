// One chat-completions call as a stream of model events: POST with stream: true, SSE decoded
// incrementally, retries with exponential backoff (or the server's Retry-After) for 429, 5xx
// and refused connections — only before the first token, since a retry after that would show
// the user a second, different beginning.
import { pause } from '../pacing.js';
import { retryDelayMs } from '../retry.js';
import { ChunkDecoder, type ModelEvent } from './chunks.js';
import { LlmError } from './errors.js';
import { CancelledError, openStream, type BodyStream, type StreamTimeouts } from './http-stream.js';
import type { Pushing } from '../pushing.js';
import { SseParser } from './sse.js';

export interface ChatCallOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeouts: StreamTimeouts;
  maxRetries: number;
  retryBaseMs: number;
  // what the server asked to wait is honoured up to this
  maxRetryWaitMs?: number;
}

export function completionsUrl(baseUrl: string): URL {
  return new URL(`${baseUrl.replace(/\/+$/, '')}/chat/completions`);
}

// A hand-written async iterator, not an async generator: an answer is hundreds of events,
// and a generator's yield adds a promise, an await and a request record per event on top
// of the consumer's own await. The body's pieces are decoded as they arrive; an event costs
// the consumer's promise, or nothing when its sink takes it (Pushing).
export function chatCall(request: Record<string, unknown>, o: ChatCallOptions, signal: AbortSignal): Pushing<ModelEvent> {
  return new ChatCall(JSON.stringify(request), o, signal);
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
// decoded events waiting for a reader that is behind, past which the body is paused
const HOLD_AT = 64;

class ChatCall implements Pushing<ModelEvent> {
  sink: ((ev: ModelEvent) => boolean) | undefined;
  private readonly url: URL;
  private attempt = 0;
  // an event was decoded: a retry would show the user a second beginning
  private started = false;
  private stream: BodyStream | undefined;
  // the attempt whose body is heard
  private listening: object | undefined;
  // the body is paused until the reader catches up
  private held = false;
  private sse = new SseParser();
  private dec = new ChunkDecoder();
  // decoded and not yet handed out: ready[at..]
  private readonly ready: ModelEvent[] = [];
  private at = 0;
  private ended = false;
  // what broke the current attempt (retried or not), seen by the reader once it wakes
  private broken: unknown;
  // thrown once the events decoded before it are handed out
  private failure: { err: unknown } | undefined;
  // the reader waits in next() for the body
  private parked: (() => void) | undefined;

  constructor(private readonly body: string, private readonly o: ChatCallOptions, private readonly signal: AbortSignal) {
    this.url = completionsUrl(o.baseUrl);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ModelEvent>> {
    if (this.at < this.ready.length) return Promise.resolve({ value: this.take(), done: false });
    return this.pull();
  }

  // The consumer stopped early (for await … break, return or throw): end the request.
  return(): Promise<IteratorResult<ModelEvent>> {
    this.ended = true;
    this.failure = undefined;
    this.ready.length = this.at = 0;
    this.closeStream();
    return Promise.resolve(DONE);
  }

  private take(): ModelEvent {
    const ev = this.ready[this.at++]!;
    if (this.at === this.ready.length) {
      this.ready.length = this.at = 0;
      if (this.held) {
        this.held = false;
        this.stream?.resume();
      }
    }
    return ev;
  }

  private async pull(): Promise<IteratorResult<ModelEvent>> {
    for (;;) {
      if (this.at < this.ready.length) return { value: this.take(), done: false };
      if (this.failure) {
        const { err } = this.failure;
        this.failure = undefined;
        throw err;
      }
      if (this.ended) return DONE;
      try {
        if (this.broken !== undefined) {
          const err = this.broken;
          this.broken = undefined;
          throw err;
        }
        if (this.stream === undefined) await this.open();
        else await new Promise<void>((wake) => { this.parked = wake; });
      } catch (err) {
        this.closeStream();
        await this.retryOrFail(err);
      }
    }
  }

  private async open(): Promise<void> {
    this.sse = new SseParser();
    this.dec = new ChunkDecoder();
    // A listener per attempt: an attempt given up on is never heard from again.
    const me = {};
    this.listening = me;
    const stream = await openStream({ url: this.url, body: this.body, apiKey: this.o.apiKey, timeouts: this.o.timeouts, signal: this.signal }, {
      piece: (b) => this.heard(me, b),
      end: () => this.heard(me, undefined),
      error: (err) => this.heard(me, undefined, err),
    });
    if (this.listening === me) this.stream = stream;
    else stream.close();
  }

  // What the attempt `me`'s body brought: a piece, its end (none), or its failure. Runs from
  // the response's events: nothing may escape it.
  private heard(me: object, piece: Buffer | undefined, failure?: Error): void {
    if (this.listening !== me) return;
    try {
      if (failure !== undefined) this.broke(failure);
      else if (piece === undefined) this.endOfBody();
      else this.decodePiece(this.sse.push(piece));
    } catch (err) {
      this.broke(err);
    }
    this.arrived();
  }

  private broke(err: unknown): void {
    this.closeStream();
    this.broken = err;
  }

  // The body brought something (decoded events, its end, a failure): the reader is woken for
  // it, or, when it is behind by HOLD_AT events, the body is held until it catches up.
  private arrived(): void {
    const wake = this.parked;
    if (wake === undefined) {
      if (!this.held && this.stream !== undefined && this.ready.length - this.at >= HOLD_AT) {
        this.held = true;
        this.stream.pause();
      }
      return;
    }
    if (this.at < this.ready.length || this.ended || this.broken !== undefined || this.failure !== undefined) {
      this.parked = undefined;
      wake();
    }
  }

  private decodePiece(payloads: string[]): void {
    for (const payload of payloads) {
      if (this.ended) return; // a sink failed
      this.add(this.dec.decode(payload));
      if (this.dec.finished) {
        this.closeStream();
        this.ended = true;
        return;
      }
    }
  }

  private endOfBody(): void {
    this.closeStream();
    for (const payload of this.sse.end()) this.add(this.dec.decode(payload));
    // A body that ends without [DONE] is accepted when it carried data: several local servers omit it.
    if (!this.dec.finished && !this.dec.sawData) throw new LlmError('llm_bad_response', 'the model server ended the stream without sending anything');
    this.add(this.dec.flushToolCalls());
    this.ended = true;
  }

  private add(events: ModelEvent[]): void {
    for (const ev of events) {
      if (this.ended) return; // a sink failed: nothing more is offered or handed out
      this.started = true;
      // Offered only while the reader waits with nothing queued, so it keeps its place.
      if (this.parked !== undefined && this.at === this.ready.length && this.sink !== undefined && this.offer(ev)) continue;
      this.ready.push(ev);
    }
  }

  private offer(ev: ModelEvent): boolean {
    try {
      return this.sink!(ev);
    } catch (err) {
      // the reader's own failure: not the model server's, so never retried
      this.fail(err);
      this.closeStream();
      return true;
    }
  }

  // Retries with backoff, or ends the iteration with the error (after the events decoded before it).
  private async retryOrFail(err: unknown): Promise<void> {
    const { o, signal } = this;
    if (err instanceof CancelledError || signal.aborted) return this.fail(new CancelledError());
    const retry = err instanceof LlmError && err.retryable && !this.started && this.attempt < o.maxRetries;
    if (!retry) return this.fail(err);
    await pause(retryDelayMs(this.attempt, { maxRetries: o.maxRetries, baseMs: o.retryBaseMs, maxWaitMs: o.maxRetryWaitMs }, err.retryAfterMs), signal);
    if (signal.aborted) return this.fail(new CancelledError());
    this.attempt++;
  }

  private fail(err: unknown): void {
    this.failure = { err };
    this.ended = true;
  }

  private closeStream(): void {
    this.stream?.close();
    this.stream = undefined;
    this.listening = undefined;
    this.held = false;
  }
}
