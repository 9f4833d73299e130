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

// Yields the body in pieces as they arrive. Throws LlmError (classified) on connection problems,
// non-2xx answers and timeouts; CancelledError when the signal aborts (the request is destroyed,
// so the server sees the disconnect and stops generating).
export async function* postStream(o: PostStreamOptions): AsyncGenerator<Buffer> {
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
    const pieces = new Pieces(res);
    try {
      let idle: NodeJS.Timeout | undefined;
      for (let piece = await pieces.next(); piece !== undefined; piece = await pieces.next()) {
        // A piece per token: the idle timer is made once and restarted, not replaced.
        if (idle === undefined) idle = arm(o.timeouts.idleMs, () => new LlmError('llm_timeout', `the model server stopped sending for ${o.timeouts.idleMs} ms`));
        else idle.refresh();
        yield piece;
      }
    } catch (err) {
      throw failure ?? new LlmError('llm_unreachable', 'the connection to the model server broke mid-answer', { cause: err });
    }
    if (failure) throw failure;
    if (!res.complete) throw new LlmError('llm_unreachable', 'the connection to the model server broke mid-answer');
  } catch (err) {
    throw failure ?? err;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
    req.destroy();
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
class Pieces {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private waiting: { resolve: (b: Buffer | undefined) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private error: unknown;

  constructor(private readonly res: IncomingMessage) {
    res.on('data', (b: Buffer) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
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
      return Promise.resolve(b);
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject }; });
  }

  private finish(err: unknown): void {
    if (this.ended || this.error !== undefined) return;
    if (err === undefined) this.ended = true;
    else this.error = err;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      if (err === undefined) w.resolve(undefined);
      else w.reject(err);
    }
  }
}
