// One conversation's connection: first-frame auth, resume from the last known seq,
// reconnect with backoff, heartbeat watchdog, token refresh and an outbox of unacked
// messages. Frames feed the Transcript; the app listens to typed events.
import type { WireClientFrame as ClientFrame, ServerFrame } from '../protocol/wire.js';
import { backoffDelay, reconnectOptions, type ReconnectOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { endpoints, fetchMessagesAfter, type Endpoints } from './endpoints.js';
import { ChatClientError, describeClose } from './errors.js';
import { randomUuid } from './ids.js';
import { Outbox } from './outbox.js';
import { TokenRefresher } from './refresh.js';
import { OPEN, resolveWebSocket, type SocketLike } from './socket.js';
import { Transcript, type Appended } from './transcript.js';
import type { Ack, ChatMessage, ClientEvents, ClientOptions, CloseInfo, CloseReason, ConnectionState, ReadyInfo, SessionInfo } from './types.js';

// Mirrors MAX_MESSAGE_CHARS in protocol/frames.ts (a unit test keeps them equal); the
// value itself is not imported so the browser bundle carries no validation library.
export const MAX_MESSAGE_CHARS = 32_000;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Retrying cannot fix these: a rejected token, a conversation that is not ours, a
// protocol violation. 4401 after a ready socket is an expiry and gets one fresh try.
const FINAL: Record<number, CloseReason> = { 4400: 'protocol_error', 4401: 'unauthorized', 4404: 'not_found' };
const SILENT_SERVER = 4000;
const noop = () => undefined;

type Timer = ReturnType<typeof setTimeout>;

export class ChatClient extends Emitter<ClientEvents> {
  state: ConnectionState = { status: 'idle' };
  ready: ReadyInfo | undefined;
  presence: SessionInfo[] = [];
  private readonly transcript = new Transcript((m) => this.emit('message', m));
  private readonly outbox = new Outbox();
  private readonly backoff: ReconnectOptions;
  private readonly urls: Endpoints;
  private sock: SocketLike | undefined;
  private token = '';
  private gen = 0; // bumped per connection attempt; callbacks of older ones are ignored
  private attempt = 0;
  private joined = false;
  private socketReady = false;
  private sentLastSeq: number | undefined;
  private lastFrameAt = 0;
  private heartbeatMs: number;
  private readonly timers: Partial<Record<'retry' | 'connect' | 'watchdog' | 'resend', Timer>> = {};
  private waiters: { resolve(r: ReadyInfo): void; reject(e: Error): void }[] = [];
  private readonly online: NonNullable<ClientOptions['onlineEvents']> | null;
  private readonly onOnline = () => this.reconnectNow();
  private readonly refresher: TokenRefresher;

  constructor(readonly conversationId: string, private readonly opts: ClientOptions) {
    super();
    this.urls = endpoints(opts.url, conversationId);
    this.backoff = reconnectOptions(opts.reconnect);
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.refresher = new TokenRefresher({
      getToken: opts.getToken,
      refreshBeforeMs: opts.refreshBeforeMs ?? 60_000,
      onFresh: (token) => {
        this.token = token;
        this.write({ type: 'reauth', token });
      },
      onError: (err) => this.emit('error', { code: 'token_refresh_failed', message: `getting a fresh token failed: ${err.message}` }),
    });
    if (opts.lastSeq !== null) this.transcript.setBase(opts.lastSeq ?? 0);
    this.online = opts.onlineEvents !== undefined ? opts.onlineEvents : typeof window !== 'undefined' ? window : null;
    for (const [k, fn] of Object.entries(opts.on ?? {})) if (fn) this.on(k as keyof ClientEvents, fn as never);
  }

  // Stored messages in seq order, then those sent but not yet acknowledged.
  get messages(): ChatMessage[] {
    return this.transcript.list();
  }

  // Every message up to this seq is here and final; a reconnect resumes after it.
  get lastSeq(): number {
    return this.transcript.resumeSeq();
  }

  // Starts the client (once) and resolves at the next ready.
  connect(): Promise<ReadyInfo> {
    if (this.state.status === 'ready' && this.ready) return Promise.resolve(this.ready);
    if (this.state.status === 'closed') return Promise.reject(new ChatClientError(this.state.reason, this.state.message, this.state.lastClose));
    const p = new Promise<ReadyInfo>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.state.status === 'idle') {
      this.online?.addEventListener('online', this.onOnline);
      void this.open('connect');
    }
    return p;
  }

  // Stored after the ack: resolves with it, and survives reconnects through the outbox.
  send(content: string): Promise<Ack> {
    if (this.state.status === 'closed') return Promise.reject(new ChatClientError(this.state.reason, `not sent: ${this.state.message}`));
    // The server stores content exactly as sent and refuses what it cannot store intact.
    if (content.trim() === '' || content.length > MAX_MESSAGE_CHARS || content.includes('\u0000') || LONE_SURROGATE.test(content)) {
      return Promise.reject(new ChatClientError('invalid_message', `a message must have 1 to ${MAX_MESSAGE_CHARS} characters, some not whitespace, no NUL and no unpaired surrogate`));
    }
    const id = randomUuid();
    const acked = this.outbox.add(id, content);
    this.transcript.addPending(id, content, this.ready?.userId ?? null);
    if (this.state.status === 'ready') this.write({ type: 'message', client_msg_id: id, content });
    return acked;
  }

  typing(active: boolean): void {
    if (this.state.status === 'ready') this.write({ type: 'typing', state: active ? 'start' : 'stop' });
  }

  // The owner's answer to a tool approval (ToolCall.approval.id); any of their tabs may answer.
  approve(approvalId: string): void {
    if (this.state.status === 'ready') this.write({ type: 'approve', approval_id: approvalId });
  }

  deny(approvalId: string, reason?: string): void {
    if (this.state.status === 'ready') this.write({ type: 'deny', approval_id: approvalId, ...(reason !== undefined ? { reason } : {}) });
  }

  cancel(runId: string): void {
    if (this.state.status === 'ready') this.write({ type: 'cancel', run_id: runId });
  }

  // Skips the backoff wait (the browser's `online` event calls this).
  reconnectNow(): void {
    if (this.state.status !== 'reconnecting') return;
    clearTimeout(this.timers.retry);
    void this.open('reconnect');
  }

  close(): void {
    if (this.state.status === 'closed') return;
    const s = this.detach();
    s?.close(1000, 'client closed');
    this.finish('closed_by_client', 'closed by the client');
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    this.emit('state', s);
  }

  private async open(why: 'connect' | 'reconnect'): Promise<void> {
    const gen = ++this.gen;
    this.socketReady = false;
    this.setState({ status: 'connecting', attempt: this.attempt });
    let sock: SocketLike;
    try {
      const [Ctor, token] = await Promise.all([resolveWebSocket(this.opts.WebSocket), this.opts.getToken(why)]);
      if (gen !== this.gen) return;
      this.token = token;
      sock = new Ctor(this.urls.ws);
    } catch (err) {
      if (gen !== this.gen) return;
      this.emit('error', { code: 'connect_failed', message: `could not start a connection: ${(err as Error).message}` });
      return this.retry({ code: 1006, reason: (err as Error).message });
    }
    this.sock = sock;
    this.timers.connect = setTimeout(() => {
      if (gen === this.gen && !this.socketReady) this.lost(SILENT_SERVER, 'no ready from the server in time');
    }, this.opts.connectTimeoutMs ?? 15_000);
    sock.onopen = () => {
      if (gen !== this.gen) return;
      // The very first join without history asks for no replay; every later one resumes.
      this.sentLastSeq = this.joined || this.opts.lastSeq !== null ? this.transcript.resumeSeq() : undefined;
      sock.send(JSON.stringify({ type: 'auth', token: this.token, ...(this.sentLastSeq !== undefined ? { last_seq: this.sentLastSeq } : {}) }));
    };
    sock.onmessage = (ev) => {
      if (gen === this.gen && typeof ev.data === 'string') this.frame(ev.data);
    };
    sock.onclose = (ev) => {
      if (gen === this.gen) this.closed({ code: ev.code, reason: ev.reason });
    };
    sock.onerror = noop; // a close event always follows
  }

  private frame(data: string): void {
    let f: ServerFrame;
    try {
      f = JSON.parse(data) as ServerFrame;
    } catch {
      this.emit('error', { code: 'invalid_frame', message: 'the server sent a frame that is not JSON' });
      return;
    }
    this.lastFrameAt = Date.now();
    const delta = (a: Appended | undefined, runId: string, messageId: string) => {
      if (a) this.emit('delta', { runId, messageId, offset: a.offset, text: a.text });
    };
    switch (f.type) {
      case 'ready': return this.onReady(f);
      case 'ping': return void this.write({ type: 'pong', id: f.id });
      case 'message': {
        const { message: m, appended } = this.transcript.stored(f.message);
        if (m.runId && m.id) delta(appended, m.runId, m.id);
        // stored before the ack reached us: the replay is the proof
        if (f.message.client_msg_id && m.id !== undefined && m.seq !== undefined) this.outbox.settle({ clientMsgId: f.message.client_msg_id, messageId: m.id, seq: m.seq, duplicate: true });
        return;
      }
      case 'ack': {
        const a: Ack = { clientMsgId: f.client_msg_id, messageId: f.message_id, seq: f.seq, duplicate: f.duplicate };
        this.transcript.ack(f);
        this.outbox.settle(a);
        return this.emit('ack', a);
      }
      case 'run.started':
        this.transcript.runStarted(f);
        return this.emit('run.started', { runId: f.run_id, messageId: f.message_id, seq: f.seq, agent: f.agent });
      case 'agent.thinking':
        this.transcript.thinking(f);
        return this.emit('thinking', { runId: f.run_id, step: f.step, text: f.text });
      case 'tool.call': return this.emit('tool.call', this.transcript.toolCall(f));
      case 'tool.result': return this.emit('tool.result', this.transcript.toolResult(f));
      case 'tool.approval_request': case 'tool.approval_result': return this.emit('tool.approval', this.transcript.approval(f));
      case 'run.snapshot': return delta(this.transcript.snapshot(f), f.run_id, f.message_id);
      case 'response.delta': return delta(this.transcript.delta(f), f.run_id, f.message_id);
      case 'response.completed':
        delta(this.transcript.completed(f), f.run_id, f.message_id);
        return this.emit('completed', { runId: f.run_id, messageId: f.message_id, seq: f.seq, content: f.content, cached: f.cached });
      case 'run.failed':
        this.transcript.failed(f);
        return this.emit('failed', { runId: f.run_id, messageId: f.message_id, code: f.code, message: f.message });
      case 'typing': return this.emit('typing', { sessionId: f.session_id, userId: f.user_id, state: f.state });
      case 'presence':
        this.presence = f.sessions;
        return this.emit('presence', f.sessions);
      case 'error':
        if (f.code === 'invalid_request' && f.client_msg_id !== undefined) this.outbox.reject(f.client_msg_id, new ChatClientError('invalid_message', f.message));
        else if ((f.code === 'rate_limited' || f.code === 'internal' || f.code === 'unavailable') && this.outbox.size > 0) this.resendSoon();
        return this.emit('error', { code: f.code, message: f.message, ...(f.issues ? { issues: f.issues } : {}), ...(f.client_msg_id !== undefined ? { clientMsgId: f.client_msg_id } : {}) });
      case 'resync': return this.resync(f.reason);
      case 'pong': return;
      default: return; // frame types from a newer server are ignored
    }
  }

  private onReady(f: Extract<ServerFrame, { type: 'ready' }>): void {
    const gen = this.gen;
    clearTimeout(this.timers.connect);
    this.socketReady = true;
    this.attempt = 0;
    if (!this.joined && this.opts.lastSeq === null) this.transcript.setBase(f.last_seq);
    this.joined = true;
    this.heartbeatMs = f.heartbeat_ms;
    this.ready = { conversationId: f.conversation_id, userId: f.user_id, sessionId: f.session_id, lastSeq: f.last_seq, activeRun: f.active_run, heartbeatMs: f.heartbeat_ms };
    this.setState({ status: 'ready', sessionId: f.session_id });
    clearInterval(this.timers.watchdog);
    this.timers.watchdog = setInterval(() => {
      if (gen === this.gen && Date.now() - this.lastFrameAt > 2 * this.heartbeatMs) this.lost(SILENT_SERVER, `no frame from the server for ${2 * this.heartbeatMs} ms`);
    }, Math.max(100, Math.min(5000, this.heartbeatMs / 4)));
    this.refresher.start(this.token);
    for (const m of this.outbox.frames()) this.write(m);
    for (const w of this.waiters.splice(0)) w.resolve(this.ready);
    this.emit('ready', this.ready);
  }

  private resendSoon(): void {
    if (this.timers.resend !== undefined) return;
    this.timers.resend = setTimeout(() => {
      this.timers.resend = undefined;
      if (this.state.status === 'ready') for (const m of this.outbox.frames()) this.write(m);
    }, 1000);
  }

  private resync(reason: string): void {
    const from = this.sentLastSeq ?? 0;
    if (this.ready) this.transcript.setBase(this.ready.lastSeq);
    this.emit('resync', { reason });
    const doFetch = this.opts.fetch ?? globalThis.fetch.bind(globalThis);
    fetchMessagesAfter(this.urls.http, this.conversationId, from, this.token, doFetch).then(
      (ms) => { for (const m of ms) this.transcript.stored(m); },
      (err: unknown) => this.emit('error', { code: 'reload_failed', message: `reloading the conversation failed: ${(err as Error).message}` }),
    );
  }

  private write(f: ClientFrame): boolean {
    if (this.sock?.readyState !== OPEN || !this.socketReady) return false;
    this.sock.send(JSON.stringify(f));
    return true;
  }

  // Forgets the current socket: its late events can no longer touch the client.
  private detach(): SocketLike | undefined {
    this.gen++;
    this.refresher.stop();
    for (const k of ['connect', 'watchdog', 'resend'] as const) {
      clearTimeout(this.timers[k]);
      clearInterval(this.timers[k]);
      this.timers[k] = undefined;
    }
    const s = this.sock;
    this.sock = undefined;
    this.socketReady = false;
    if (s) s.onopen = s.onmessage = s.onclose = s.onerror = noop;
    return s;
  }

  // The server went silent (or never got ready): stop waiting for its close and retry.
  private lost(code: number, reason: string): void {
    const s = this.detach();
    if (s && s.readyState <= OPEN) s.close(code, reason);
    this.retry({ code, reason });
  }

  private closed(c: CloseInfo): void {
    const wasReady = this.socketReady;
    this.detach();
    const final = FINAL[c.code];
    if (final && !(c.code === 4401 && wasReady)) return this.finish(final, describeClose(c), c);
    this.retry(c);
  }

  private retry(lastClose: CloseInfo): void {
    if (this.attempt >= this.backoff.retries) {
      return this.finish('retries_exhausted', `gave up after ${this.attempt} reconnect attempts: ${describeClose(lastClose)}`, lastClose);
    }
    const delayMs = backoffDelay(this.attempt, this.backoff, this.opts.random);
    this.attempt++;
    this.setState({ status: 'reconnecting', attempt: this.attempt, delayMs, retryAt: Date.now() + delayMs, lastClose });
    this.timers.retry = setTimeout(() => void this.open('reconnect'), delayMs);
  }

  private finish(reason: CloseReason, message: string, lastClose?: CloseInfo): void {
    this.detach();
    clearTimeout(this.timers.retry);
    this.online?.removeEventListener('online', this.onOnline);
    this.setState({ status: 'closed', reason, message, ...(lastClose ? { lastClose } : {}) });
    const err = new ChatClientError(reason, message, lastClose);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.outbox.rejectAll(new ChatClientError(reason, `not acknowledged: ${message}`, lastClose));
  }
}
