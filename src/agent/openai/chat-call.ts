// One chat-completions call as a stream of model events: POST with stream: true, SSE decoded
// incrementally, retries with exponential backoff (or the server's Retry-After) for 429, 5xx
// and refused connections — only before the first token, since a retry after that would show
// the user a second, different beginning.
import { pause } from '../pacing.js';
import { retryDelayMs } from '../retry.js';
import { ChunkDecoder, type ModelEvent } from './chunks.js';
import { LlmError } from './errors.js';
import { CancelledError, openStream, type BodyStream, type StreamTimeouts } from './http-stream.js';
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
// of the consumer's own await. Here an event costs the consumer's promise and one await
// on the body, and the events of one piece are handed out without any.
export function chatCall(request: Record<string, unknown>, o: ChatCallOptions, signal: AbortSignal): AsyncIterableIterator<ModelEvent> {
  return new ChatCall(JSON.stringify(request), o, signal);
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class ChatCall implements AsyncIterableIterator<ModelEvent> {
  private readonly url: URL;
  private attempt = 0;
  // an event was decoded: a retry would show the user a second beginning
  private started = false;
  private stream: BodyStream | undefined;
  private sse = new SseParser();
  private dec = new ChunkDecoder();
  // decoded and not yet handed out: ready[at..]
  private readonly ready: ModelEvent[] = [];
  private at = 0;
  private ended = false;
  // thrown once the events decoded before it are handed out
  private failure: { err: unknown } | undefined;

  constructor(private readonly body: string, private readonly o: ChatCallOptions, private readonly signal: AbortSignal) {
    this.url = completionsUrl(o.baseUrl);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ModelEvent>> {
    if (this.at < this.ready.length) return Promise.resolve({ value: this.ready[this.at++]!, done: false });
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

  private async pull(): Promise<IteratorResult<ModelEvent>> {
    for (;;) {
      if (this.at < this.ready.length) return { value: this.ready[this.at++]!, done: false };
      if (this.failure) {
        const { err } = this.failure;
        this.failure = undefined;
        throw err;
      }
      if (this.ended) return DONE;
      this.ready.length = this.at = 0;
      try {
        this.stream ??= await this.open();
        const piece = await this.stream.next();
        if (piece === undefined) this.endOfBody();
        else this.decodePiece(piece);
      } catch (err) {
        this.closeStream();
        await this.retryOrFail(err);
      }
    }
  }

  private async open(): Promise<BodyStream> {
    this.sse = new SseParser();
    this.dec = new ChunkDecoder();
    return openStream({ url: this.url, body: this.body, apiKey: this.o.apiKey, timeouts: this.o.timeouts, signal: this.signal });
  }

  private decodePiece(piece: Buffer): void {
    for (const payload of this.sse.push(piece)) {
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
      this.started = true;
      this.ready.push(ev);
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
  }
}
