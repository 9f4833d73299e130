// One WebSocket's protocol state machine: first-message auth, ownership, replay and
// resume, then the frames of a ready session. Transport-agnostic: the socket is a port.
import { randomBytes } from 'node:crypto';
import { AppError, closeFor, invalid, type ErrorCode } from '../protocol/errors.js';
import { ClientFrame, PROTOCOL_VERSION, type ClientFrameOf, type ServerFrame } from '../protocol/frames.js';
import { wireMessage, type Message } from './message.js';
import { TokenBucket } from './rate-limit.js';
import type { SessionContext, SessionRef, SessionState, SocketPort } from './session-context.js';

const REPLAY_LIMIT = 1000;
const TYPING_MIN_GAP_MS = 300;

export class Session implements SessionRef {
  readonly sessionId = randomBytes(9).toString('base64url');
  userId = '';
  state: SessionState = 'pending';
  exp = 0;
  readonly authDeadline: number;
  private readonly opened = performance.now();
  // created on the first frame after auth: idle sockets never need one
  private bucket: TokenBucket | undefined;
  private buffered: ServerFrame[] | undefined; // live frames held back during replay
  private nextPingAt: number;
  private pingOutstanding: { id: string; at: number } | undefined;
  private missedPongs = 0;
  private lastTyping = -Infinity;

  constructor(readonly conv: string, readonly ip: string, private readonly port: SocketPort, private readonly g: SessionContext) {
    const now = g.now();
    this.authDeadline = now + g.limits.authTimeoutMs;
    this.nextPingAt = now + g.limits.heartbeatMs;
  }

  deliver(frame: ServerFrame, text?: string): void {
    if (this.buffered) {
      this.buffered.push(frame);
      return;
    }
    this.send(frame, text);
    if (frame.type === 'resync' && frame.reason === 'conversation_deleted') this.fail(new AppError('conversation_not_found'));
  }

  send(frame: ServerFrame, text?: string): void {
    if (this.state === 'closed') return;
    this.g.metrics.wsFramesOut(frame.type).inc();
    if (!this.port.send(text ?? JSON.stringify(frame))) this.fail(new AppError('slow_consumer'));
  }

  fail(err: AppError): void {
    const { code, reason } = closeFor(err);
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.port.close(code, reason);
    this.closed();
  }

  // The transport reports the socket gone (any side closed it).
  closed(): void {
    if (this.state === 'closed') return;
    const was = this.state;
    this.state = 'closed';
    this.g.released(this, was);
  }

  // Called about once a second by the gateway for every session.
  tick(now: number): void {
    if (this.state === 'pending' || this.state === 'authenticating') {
      if (now >= this.authDeadline) {
        this.g.authFailed('timeout');
        this.fail(new AppError('auth_timeout', `no auth frame within ${this.g.limits.authTimeoutMs} ms`));
      }
      return;
    }
    if (this.state !== 'ready') return;
    if (this.exp * 1000 <= now) {
      this.g.authFailed('expired');
      this.fail(new AppError('unauthorized', 'token expired; reconnect with a fresh token'));
      return;
    }
    if (now < this.nextPingAt) return;
    if (this.pingOutstanding && ++this.missedPongs >= 2) {
      this.fail(new AppError('heartbeat_timeout'));
      return;
    }
    const id = randomBytes(6).toString('base64url');
    this.pingOutstanding = { id, at: performance.now() };
    this.nextPingAt = now + this.g.limits.heartbeatMs;
    this.send({ type: 'ping', id, t: now });
  }

  onBinary(): void {
    this.g.metrics.wsFrames.inc({ direction: 'in', type: 'binary' });
    if (this.state !== 'ready') return this.fail(new AppError('invalid_request', 'binary frames are not supported; the first frame must be an auth JSON text frame'));
    this.error('invalid_request', 'binary frames are not supported; send JSON text frames');
  }

  onText(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.g.metrics.wsFrames.inc({ direction: 'in', type: 'invalid' });
      return this.reject(new AppError('invalid_request', 'frame is not valid JSON'));
    }
    const parsed = ClientFrame.safeParse(raw);
    const type = typeof (raw as { type?: unknown })?.type === 'string' ? (raw as { type: string }).type : 'invalid';
    this.g.metrics.wsFrames.inc({ direction: 'in', type: parsed.success ? type : 'invalid' });
    if (!parsed.success) return this.reject(invalid('frame', parsed.error.issues), clientMsgId(raw));
    const f = parsed.data;
    if (this.state === 'pending') {
      if (f.type !== 'auth') return this.fail(new AppError('invalid_request', `the first frame must be auth, got ${f.type}`));
      void this.auth(f);
      return;
    }
    if (this.state !== 'ready') return; // authenticating: one auth attempt, nothing else yet
    this.bucket ??= new TokenBucket(this.g.limits.ratePerSec, this.g.limits.rateBurst, this.g.now);
    if (!this.bucket.take()) {
      if (this.bucket.debt > this.g.limits.rateBurst) return this.fail(new AppError('rate_limited', 'too many frames; slow down'));
      if (this.bucket.debt === 1) this.error('rate_limited', `more than ${this.g.limits.ratePerSec} frames per second; frames are being dropped`);
      return;
    }
    switch (f.type) {
      case 'auth': return this.error('invalid_request', 'already authenticated; use reauth to refresh the token');
      case 'message': return void this.message(f);
      case 'typing': return this.typing(f);
      case 'ping': return this.send({ type: 'pong', id: f.id });
      case 'pong': return this.pong(f);
      case 'cancel': return void this.cancel(f).catch((err: unknown) => this.error(err instanceof AppError ? err.code : 'internal', `cancel not delivered: ${err instanceof AppError ? err.message : 'internal error'}; retry`));
      case 'reauth': return void this.reauth(f);
      case 'approve': case 'deny': return void this.decide(f);
    }
  }

  // client_msg_id (when the refused frame carried one) tells the client which message failed.
  private reject(err: AppError, client_msg_id?: string): void {
    if (this.state === 'pending') return this.fail(err);
    const body = { type: 'error' as const, code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}), ...(client_msg_id !== undefined ? { client_msg_id } : {}) };
    this.send(body);
  }

  private error(code: ErrorCode, message: string, client_msg_id?: string): void {
    this.send({ type: 'error', code, message, ...(client_msg_id !== undefined ? { client_msg_id } : {}) });
  }

  private async auth(f: ClientFrameOf<'auth'>): Promise<void> {
    this.state = 'authenticating';
    const t0 = performance.now();
    const g = this.g;
    try {
      const v = await g.verifier.verify(f.token);
      if (f.user_id !== undefined && f.user_id !== v.sub) throw new AppError('unauthorized', 'user_id does not match the token');
      if (g.hub.connectionsOf(v.sub) >= g.limits.maxConnectionsPerUser) {
        throw new AppError('rate_limited', `more than ${g.limits.maxConnectionsPerUser} connections for this user`);
      }
      const conv = await g.store.findOwned(v.sub, this.conv);
      if (conv === undefined) throw new AppError('conversation_not_found');
      if (this.state !== 'authenticating') return; // the client left while we checked
      this.userId = v.sub;
      this.exp = v.exp;
      this.state = 'ready';
      g.authenticated(this);
      g.metrics.wsAuth.observe({ result: 'ok' }, (performance.now() - t0) / 1000);
      await this.join(conv.last_seq, conv.streaming, f.last_seq);
      g.metrics.wsConnect.observe((performance.now() - this.opened) / 1000);
    } catch (err) {
      const reason = (err as { reason?: string }).reason ?? (err instanceof AppError ? err.code : 'internal');
      g.metrics.wsAuth.observe({ result: 'fail' }, (performance.now() - t0) / 1000);
      g.authFailed(reason);
      if (!(err instanceof AppError)) g.log.error({ reason, err_message: (err as Error).message }, 'ws auth failed unexpectedly');
      this.fail(err instanceof AppError ? err : new AppError('internal'));
    }
  }

  // Subscribe first (holding live frames back), then replay, then the run in flight, so
  // nothing published meanwhile is lost or delivered out of order.
  private async join(lastSeq: number, streaming: Message | undefined, clientSeq: number | undefined): Promise<void> {
    const g = this.g;
    this.buffered = [];
    g.hub.join(this, lastSeq);
    // A run that starts on another replica in the instant between the ownership query and
    // hub.join() is seen from its next frame on; its response.completed carries the full
    // text. Joining before the ownership check would close that gap but would announce an
    // unauthorised session in presence.
    const local = g.runs.localRun(this.conv);
    const active = local ? { run_id: local.runId, message_id: local.messageId, seq: local.seq }
      : streaming?.run_id ? { run_id: streaming.run_id, message_id: streaming.id, seq: streaming.seq } : null;
    this.send({ type: 'ready', protocol: PROTOCOL_VERSION, conversation_id: this.conv, user_id: this.userId, session_id: this.sessionId, last_seq: lastSeq, active_run: active, heartbeat_ms: g.limits.heartbeatMs });
    let replayedTo = clientSeq ?? lastSeq;
    if (clientSeq !== undefined) {
      if (clientSeq > lastSeq || lastSeq - clientSeq > REPLAY_LIMIT) {
        this.send({ type: 'resync', reason: clientSeq > lastSeq ? 'last_seq is ahead of the conversation' : `more than ${REPLAY_LIMIT} messages to replay` });
        replayedTo = lastSeq;
      } else {
        for (const m of await g.store.messagesAfter(this.conv, clientSeq, REPLAY_LIMIT)) {
          // A replay is a burst: pace it by the socket's drain so a client catching up is
          // not mistaken for a slow reader.
          while (this.port.buffered() > g.limits.maxBufferedBytes / 2 && this.state === 'ready') await this.port.drained();
          if (this.state !== 'ready') return;
          this.send({ type: 'message', message: wireMessage(m) });
          replayedTo = Math.max(replayedTo, m.seq);
        }
      }
    }
    if (local) this.send(g.runs.snapshot(local));
    else if (active) g.bus.publish({ kind: 'snapshot_request', conv: this.conv, run_id: active.run_id, session: this.sessionId });
    // tool approvals still waiting (their run may be paused on any replica, or gone)
    for (const fr of await g.approvals?.pendingFrames(this.conv) ?? []) this.send(fr);
    const held = this.buffered;
    this.buffered = undefined;
    for (const fr of held) if (!(fr.type === 'message' && fr.message.seq <= replayedTo && fr.message.status !== 'streaming')) this.deliver(fr);
  }

  private async message(f: ClientFrameOf<'message'>): Promise<void> {
    const g = this.g;
    const t0 = performance.now();
    const userBucket = g.userBucket(this.userId);
    if (!userBucket.take()) {
      if (userBucket.debt > g.limits.userMessageBurst) return this.fail(new AppError('rate_limited', 'too many messages for this user; slow down'));
      return this.error('rate_limited', `more than ${g.limits.userMessageRatePerSec} messages per second for this user; message not stored`, f.client_msg_id);
    }
    g.inflight.begin();
    try {
      const out = await g.store.insertUserMessage(this.conv, this.userId, f.client_msg_id, f.content);
      if (out === undefined) return this.fail(new AppError('conversation_not_found'));
      this.send({ type: 'ack', client_msg_id: f.client_msg_id, message_id: out.message.id, seq: out.message.seq, duplicate: out.duplicate });
      g.metrics.wsMessageAck.observe((performance.now() - t0) / 1000);
      // A retry whose first reply was lost after the commit is all the client sent: its
      // message was never relayed and has no run. At most one run answers it (the store
      // refuses a second answer row), so one starts unless an answer row exists.
      if (out.duplicate && !(g.autoRun && out.answered === false)) return;
      g.bus.publish({ kind: 'frame', conv: this.conv, frame: { type: 'message', message: wireMessage(out.message) }, except: this.sessionId });
      if (g.autoRun) g.runs.submit(this.conv, this.userId, out.message.seq);
    } catch (err) {
      g.log.error({ err_message: (err as Error).message }, 'storing a message failed');
      // a connection lost mid-statement may still have committed it: the retry is acked as a duplicate
      if (err instanceof AppError) this.error(err.code, `${err.message}: the message may not have been stored; retry with the same client_msg_id`, f.client_msg_id);
      else this.error('internal', 'the message was not stored; retry with the same client_msg_id', f.client_msg_id);
    } finally {
      g.inflight.end();
    }
  }

  private typing(f: ClientFrameOf<'typing'>): void {
    const now = this.g.now();
    if (f.state === 'start' && now - this.lastTyping < TYPING_MIN_GAP_MS) return;
    this.lastTyping = now;
    this.g.bus.publish({ kind: 'frame', conv: this.conv, frame: { type: 'typing', session_id: this.sessionId, user_id: this.userId, state: f.state }, except: this.sessionId });
  }

  private pong(f: ClientFrameOf<'pong'>): void {
    if (this.pingOutstanding === undefined || String(f.id) !== this.pingOutstanding.id) return;
    this.g.metrics.wsRoundtrip.observe((performance.now() - this.pingOutstanding.at) / 1000);
    this.pingOutstanding = undefined;
    this.missedPongs = 0;
  }

  private async cancel(f: ClientFrameOf<'cancel'>): Promise<void> {
    const g = this.g;
    if (!g.runs.isLocal(f.run_id)) {
      const streaming = await g.store.streamingAnswer(this.conv);
      if (streaming?.run_id !== f.run_id) return this.error('run_not_found', `no run ${f.run_id} in flight in this conversation`);
    } else if (g.runs.localRun(this.conv)?.runId !== f.run_id) {
      return this.error('run_not_found', `no run ${f.run_id} in flight in this conversation`);
    }
    g.runs.cancel(this.conv, f.run_id);
  }

  private async decide(f: ClientFrameOf<'approve'> | ClientFrameOf<'deny'>): Promise<void> {
    try {
      if (this.g.approvals === undefined) throw new AppError('approval_not_found');
      await this.g.approvals.decide(this.userId, f.approval_id, f.type === 'approve', f.type === 'deny' ? f.reason : undefined, this.conv);
    } catch (err) {
      if (!(err instanceof AppError)) this.g.log.error({ err_message: (err as Error).message }, 'storing a tool approval failed');
      const e = err instanceof AppError ? err : new AppError('internal', 'the decision was not stored; send it again');
      this.error(e.code, e.message);
    }
  }

  private async reauth(f: ClientFrameOf<'reauth'>): Promise<void> {
    try {
      const v = await this.g.verifier.verify(f.token);
      if (v.sub !== this.userId) return this.fail(new AppError('unauthorized', 'reauth token is for another user'));
      this.exp = Math.max(this.exp, v.exp);
    } catch (err) {
      this.error('unauthorized', `reauth rejected: ${(err as Error).message}; the current token stays in force until it expires`);
    }
  }
}

// The client_msg_id of a refused message frame, when it has a usable one.
function clientMsgId(raw: unknown): string | undefined {
  const r = raw as { type?: unknown; client_msg_id?: unknown } | null;
  if (r?.type !== 'message' || typeof r.client_msg_id !== 'string' || r.client_msg_id.length > 64) return undefined;
  return r.client_msg_id;
}
