// One streaming POST to an OpenAI-compatible server, with the three timeouts that matter for a
// streamed answer: connect, first byte of the stream, and idle between pieces. fetch would
// hide the connect phase and cannot tell a stalled stream from a slow one.
//
// The request goes over a socket of its own (net or tls) whose reads land in one shared
// buffer and go straight to the response reader: node:http hands every piece through the
// socket's Readable, its parser and the response's Readable, and a streamed answer is one
// small piece per token (about a tenth of the server's CPU at 500 streams went there).
import net from 'node:net';
import tls from 'node:tls';
import { errorForStatus, LlmError } from './errors.js';
import { MalformedResponse, ResponseReader, type ResponseHead } from './http1-response.js';

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

// Where the body of a streamed answer goes: each piece is handed over from the socket's read,
// so a token costs no promise between the socket and its reader.
export interface BodyListener {
  // a view of the read buffer, valid only during the call
  piece(b: Buffer): void;
  // the body ended well: the response completed and nothing of ours failed it
  end(): void;
  // LlmError (classified) on a broken connection or a timeout, CancelledError when the signal
  // aborts. Nothing is handed over after end() or error().
  error(err: Error): void;
}

export interface BodyStream {
  // Holds the pieces back (the reader is behind); the idle timeout does not run while held.
  pause(): void;
  resume(): void;
  // Ends the request (the server sees the disconnect and stops generating); idempotent.
  // The listener hears nothing more.
  close(): void;
}

// Sends the request and waits for the response's head. Throws LlmError (classified) on
// connection problems, non-2xx answers and timeouts; CancelledError when the signal aborts.
// The caller must close() the stream it gets, however it stops reading. The first pieces may
// reach the listener before the promise resolves (they came in the read with the head).
export function openStream(o: PostStreamOptions, listener: BodyListener): Promise<BodyStream> {
  if (o.signal.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    new Exchange(o, listener, resolve, reject).start();
  });
}

// Every model connection reads into this one buffer: the reader is done with it before the
// read callback returns, and all of them run on this thread.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
// what of an error page is kept for the message
const ERROR_PAGE_CHARS = 4096;

const enum Phase { Head, Body, ErrorPage, Done }

class Exchange implements BodyStream {
  private phase = Phase.Head;
  private timer: NodeJS.Timeout | undefined;
  // the idle timer, made once and restarted at every piece (undefined: not running)
  private idle: NodeJS.Timeout | undefined;
  private socket: net.Socket | undefined;
  private paused = false;
  private errorPage = { status: 0, retryAfter: undefined as string | undefined, text: '' };
  private readonly reader: ResponseReader;
  private readonly onAbort = () => this.fail(new CancelledError());

  constructor(
    private readonly o: PostStreamOptions,
    private readonly listener: BodyListener,
    private readonly resolve: (s: BodyStream) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.reader = new ResponseReader({
      head: (h) => this.head(h),
      body: (b) => this.body(b),
      end: () => this.ended(),
    });
  }

  start(): void {
    const { o } = this;
    const request = this.request();
    if (typeof request !== 'string') return this.reject(request);
    const secure = o.url.protocol === 'https:';
    // URL keeps an IPv6 literal in brackets
    const host = o.url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(o.url.port) || (secure ? 443 : 80);
    // TLS sockets take their reads from 'data' events (node's typings do not offer onread
    // for them); a remote provider's stream is not where the CPU goes.
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }).on('data', (b: Buffer) => this.read(b.length, b))
      : net.connect({ host, port, onread: { buffer: READ_BUFFER, callback: (n, buf) => this.read(n, buf as Buffer) } });
    this.socket = socket;
    socket.setNoDelay(true);
    o.signal.addEventListener('abort', this.onAbort, { once: true });
    this.arm(o.timeouts.connectMs, () => new LlmError('llm_timeout', `could not connect to the model server within ${o.timeouts.connectMs} ms`, { retryable: true }));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.arm(o.timeouts.firstTokenMs, () => new LlmError('llm_timeout', `the model server sent nothing within ${o.timeouts.firstTokenMs} ms`));
    });
    socket.on('error', (err) => this.fail(this.phase === Phase.Head ? classifyNetworkError(err) : broken(err)));
    socket.on('end', () => this.closed());
    socket.on('close', () => this.closed());
    socket.write(request);
  }

  pause(): void {
    if (this.phase !== Phase.Body || this.paused) return;
    this.paused = true;
    this.socket!.pause();
    // a cleared timer does not come back with refresh(): the next piece arms a new one
    clearTimeout(this.timer);
    this.idle = undefined;
  }

  resume(): void {
    if (this.phase !== Phase.Body || !this.paused) return;
    this.paused = false;
    this.arrived();
    this.socket!.resume();
  }

  close(): void {
    this.phase = Phase.Done;
    clearTimeout(this.timer);
    this.o.signal.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
  }

  private request(): string | LlmError {
    const { url, body, apiKey } = this.o;
    if (apiKey !== undefined && /[\r\n]/.test(apiKey)) return new LlmError('llm_unauthorized', 'the API key holds a line break; check LLM_API_KEY');
    return `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n`
      + `Accept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`
      + `${apiKey ? `Authorization: Bearer ${apiKey}\r\n` : ''}\r\n${body}`;
  }

  private arm(ms: number, err: () => LlmError): NodeJS.Timeout {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(err()), ms);
    return this.timer;
  }

  private arrived(): void {
    if (this.idle === undefined) {
      const ms = this.o.timeouts.idleMs;
      this.idle = this.arm(ms, () => new LlmError('llm_timeout', `the model server stopped sending for ${ms} ms`));
    } else this.idle.refresh();
  }

  // A read of the socket: runs from libuv's callback, so nothing may escape it.
  private read(n: number, buf: Buffer): boolean {
    if (this.phase === Phase.Done) return false;
    try {
      this.reader.push(buf, n);
    } catch (err) {
      this.fail(err instanceof MalformedResponse
        ? new LlmError('llm_bad_response', `the model server sent a malformed HTTP response: ${err.message}`)
        : err instanceof Error ? err : new Error(String(err)));
    }
    return true;
  }

  private head(h: ResponseHead): void {
    if (h.status >= 200 && h.status < 300) {
      this.phase = Phase.Body;
      this.resolve(this);
      return;
    }
    this.phase = Phase.ErrorPage;
    this.errorPage.status = h.status;
    this.errorPage.retryAfter = h.headers.get('retry-after');
  }

  private body(b: Buffer): void {
    if (this.phase === Phase.Body) {
      this.arrived();
      this.listener.piece(b);
    } else if (this.phase === Phase.ErrorPage && this.errorPage.text.length < ERROR_PAGE_CHARS) {
      this.errorPage.text += b.toString();
    }
  }

  // The response is complete.
  private ended(): void {
    const phase = this.phase;
    this.close();
    if (phase === Phase.Body) this.listener.end();
    else if (phase === Phase.ErrorPage) this.rejectWithErrorPage();
  }

  // The connection ended or closed, maybe before the response did.
  private closed(): void {
    if (this.phase === Phase.Done) return;
    if (this.reader.close()) return; // a body framed by the connection's end: ended() ran
    if (this.phase === Phase.ErrorPage) return this.fail(new Error('error page cut short'));
    this.fail(this.phase === Phase.Head
      ? new LlmError('llm_unreachable', 'the model server closed the connection without answering', { retryable: true })
      : broken(new Error('response closed before its end')));
  }

  // Ends the exchange with an error, once: ours (a timeout, a cancel) wins over what the
  // connection reports after we cut it, as the first one closes the exchange.
  private fail(err: Error): void {
    const phase = this.phase;
    if (phase === Phase.Done) return;
    this.close();
    if (phase === Phase.Head) this.reject(err);
    else if (phase === Phase.Body) this.listener.error(err);
    // An error page cut short still tells us the status; the rest is only a hint.
    else if (err instanceof CancelledError || err instanceof LlmError) this.reject(err);
    else this.rejectWithErrorPage();
  }

  private rejectWithErrorPage(): void {
    const { status, text, retryAfter } = this.errorPage;
    this.reject(errorForStatus(status, text.slice(0, ERROR_PAGE_CHARS), retryAfter));
  }
}

function classifyNetworkError(err: Error): LlmError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new LlmError('llm_unreachable', `cannot reach the model server (${code})`, { retryable: true, cause: err });
}

function broken(cause: unknown): LlmError {
  return new LlmError('llm_unreachable', 'the connection to the model server broke mid-answer', { cause });
}
