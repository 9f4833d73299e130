// One streaming POST to an OpenAI-compatible server over node:http(s), with the three timeouts
// that matter for a streamed answer: connect, first byte of the stream, and idle between pieces.
// fetch would hide the connect phase and cannot tell a stalled stream from a slow one.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { errorForStatus, LlmError } from './errors.js';

export interface StreamTimeouts {
  connectMs: number;
  firstTokenMs: number;
  idleMs: number;
}

export interface PostStreamOptions {
  url: URL;
  body: string;
  apiKey: string | undefined;
  timeouts: StreamTimeouts;
  signal: AbortSignal;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

// The body of a streamed answer, pulled one piece at a time by the caller's own loop: a
// generator here would add a promise hop per token to every answer.
export interface BodyStream {
  // The next piece, or undefined at the body's end. Rejects with LlmError (classified) on a
  // broken connection or a timeout, CancelledError when the signal aborts.
  next(): Promise<Buffer | undefined>;
  // Ends the request (the server sees the disconnect and stops generating); idempotent.
  close(): void;
}

// Sends the request and waits for the response's head. Throws LlmError (classified) on
// connection problems, non-2xx answers and timeouts; CancelledError when the signal aborts.
// The caller must close() the stream it gets, however it stops reading.
export async function openStream(o: PostStreamOptions): Promise<BodyStream> {
  if (o.signal.aborted) throw new CancelledError();
  const lib = o.url.protocol === 'https:' ? https : http;
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  const req = lib.request(o.url, {
    method: 'POST',
    agent: false, // a fresh connection per call, so the connect timeout measures a real connect
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'content-length': Buffer.byteLength(o.body),
      ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
    },
  });
  const fail = (err: Error) => {
    failure ??= err;
    req.destroy(failure);
  };
  const arm = (ms: number, err: () => LlmError) => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(err()), ms);
    return timer;
  };
  const onAbort = () => fail(new CancelledError());
  const close = () => {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
    req.destroy();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  arm(o.timeouts.connectMs, () => new LlmError('llm_timeout', `could not connect to the model server within ${o.timeouts.connectMs} ms`, { retryable: true }));
  req.on('socket', (s) => {
    const connected = () => arm(o.timeouts.firstTokenMs, () => new LlmError('llm_timeout', `the model server sent nothing within ${o.timeouts.firstTokenMs} ms`));
    if (s.connecting) s.once('connect', connected);
    else connected();
  });

  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', (err) => reject(failure ?? classifyNetworkError(err)));
      req.end(o.body);
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const body = await readSome(res, 4096);
      const retryAfter = res.headers['retry-after'];
      throw errorForStatus(status, body, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    }
    let idle: NodeJS.Timeout | undefined;
    return new Pieces(res, {
      // A piece per token: the idle timer is made once and restarted, not replaced.
      handedOut: () => {
        if (idle === undefined) idle = arm(o.timeouts.idleMs, () => new LlmError('llm_timeout', `the model server stopped sending for ${o.timeouts.idleMs} ms`));
        else idle.refresh();
      },
      failure: () => failure,
      close,
    });
  } catch (err) {
    close();
    throw failure ?? err;
  }
}

function classifyNetworkError(err: Error): LlmError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new LlmError('llm_unreachable', `cannot reach the model server (${code})`, { retryable: true, cause: err });
}

async function readSome(res: IncomingMessage, max: number): Promise<string> {
  let text = '';
  try {
    for await (const piece of res as AsyncIterable<Buffer>) {
      if (text.length < max) text += piece.toString();
    }
  } catch (err) {
    // An error page cut short still tells us the status; the rest is only a hint.
    void err;
  }
  return text.slice(0, max);
}

// The body's pieces, pulled one at a time. A Readable's own async iterator allocates
// several promises and listeners per piece; a streamed answer is one small piece per
// token, so this takes the pieces from 'data' events into a queue instead. The queue is
// bounded by pausing the response while it holds more than a few pieces.
interface PiecesHooks {
  handedOut(): void;
  // what of ours failed the request (a timeout, a cancel), if anything did
  failure(): Error | undefined;
  close(): void;
}

class Pieces implements BodyStream {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private waiting: { resolve: (b: Buffer | undefined) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly res: IncomingMessage, private readonly hooks: PiecesHooks) {
    res.on('data', (b: Buffer) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        this.hooks.handedOut();
        w.resolve(b);
        return;
      }
      this.queue.push(b);
      if (this.queue.length - this.head >= 16) res.pause();
    });
    res.on('end', () => this.finish(undefined));
    res.on('error', (err) => this.finish(err));
    res.on('close', () => this.finish(res.complete ? undefined : new Error('response closed before its end')));
  }

  next(): Promise<Buffer | undefined> {
    if (this.head < this.queue.length) {
      const b = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Buffer;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        if (this.res.isPaused()) this.res.resume();
      }
      this.hooks.handedOut();
      return Promise.resolve(b);
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject }; });
  }

  close(): void {
    this.hooks.close();
  }

  // The body ends well only when the response completed and nothing of ours failed it;
  // pieces already queued are still handed out first.
  private finish(err: unknown): void {
    if (this.ended || this.error !== undefined) return;
    const ours = this.hooks.failure();
    if (err === undefined && ours === undefined && this.res.complete) this.ended = true;
    else this.error = ours ?? new LlmError('llm_unreachable', 'the connection to the model server broke mid-answer', { cause: err });
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      if (this.error === undefined) w.resolve(undefined);
      else w.reject(this.error);
    }
  }
}
