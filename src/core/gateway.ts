// Every WebSocket session of this replica: admission (pending sockets per address, the
// per-user cap), the one ticker that enforces auth deadlines, token expiry and
// heartbeats for all sockets, and the ordered drain on shutdown.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { wireMessage, type Message } from './message.js';
import type { Approvals } from './approvals.js';
import type { Bus } from './bus.js';
import type { Hub } from './hub.js';
import type { Inflight } from './inflight.js';
import { TokenBucket } from './rate-limit.js';
import type { RunManager } from './runs.js';
import { Session } from './session.js';
import type { SessionContext, SessionRef, SessionState, SessionStore, SocketPort, TokenVerifier } from './session-context.js';

// The gateway re-reads through the same store its sessions use.
export type GatewayStore = SessionStore;

export interface GatewayDeps {
  cfg: Config['ws'];
  verifier: TokenVerifier;
  hub: Hub;
  bus: Bus;
  runs: RunManager;
  store: GatewayStore;
  metrics: Metrics;
  log: Logger;
  inflight: Inflight;
  // false with AGENT=none: messages are stored and relayed, no agent answers
  autoRun: boolean;
  approvals?: Approvals;
  // wall-clock milliseconds; Date.now unless a test drives it
  now?: () => number;
}

export class Gateway {
  private readonly cfg: Config['ws'];
  private readonly hub: Hub;
  private readonly bus: Bus;
  private readonly runs: RunManager;
  private readonly store: GatewayStore;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly inflight: Inflight;
  private readonly now: () => number;
  // what every session of this gateway is given
  private readonly ctx: SessionContext;
  private readonly sessions = new Map<string, Session>();
  private readonly pendingByIp = new Map<string, number>();
  private readonly userBuckets = new Map<string, TokenBucket>();
  private ticker: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(d: GatewayDeps) {
    ({ cfg: this.cfg, hub: this.hub, bus: this.bus, runs: this.runs, store: this.store, metrics: this.metrics, log: this.log, inflight: this.inflight } = d);
    this.now = d.now ?? Date.now;
    this.ctx = {
      limits: d.cfg, now: this.now, verifier: d.verifier, store: d.store, hub: d.hub, bus: d.bus, runs: d.runs, approvals: d.approvals,
      inflight: d.inflight, metrics: d.metrics, log: d.log, autoRun: d.autoRun,
      authenticated: (s) => this.authenticated(s),
      released: (s, was) => this.released(s, was),
      authFailed: (reason) => this.metrics.wsAuthFailures.inc({ reason }),
      userBucket: (userId) => this.userBucket(userId),
    };
  }

  // The ticker that enforces auth deadlines, token expiry and heartbeats, and the re-read
  // after a bus outage. Started by the composition root, stopped by drain().
  start(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.tick(), Math.min(1000, Math.max(50, Math.floor(this.cfg.heartbeatMs / 4))));
    this.ticker.unref();
    this.bus.onResync((convs) => void this.resync(convs));
  }

  // Upgrade-time admission; a string is the reason to refuse.
  admit(ip: string): 'ok' | 'draining' | 'too_many_pending' {
    if (this.draining) return 'draining';
    if ((this.pendingByIp.get(ip) ?? 0) >= this.cfg.maxPendingPerIp) return 'too_many_pending';
    return 'ok';
  }

  open(conv: string, ip: string, port: SocketPort): Session {
    const s = new Session(conv, ip, port, this.ctx);
    this.sessions.set(s.sessionId, s);
    this.pendingByIp.set(ip, (this.pendingByIp.get(ip) ?? 0) + 1);
    this.metrics.wsConnections.inc({ state: 'pending' });
    return s;
  }

  private authenticated(s: SessionRef): void {
    this.unpend(s.ip);
    this.metrics.wsConnections.dec({ state: 'pending' });
    this.metrics.wsConnections.inc({ state: 'ready' });
  }

  private released(s: SessionRef, was: SessionState): void {
    this.sessions.delete(s.sessionId);
    if (was === 'ready') {
      this.hub.leave(s);
      this.metrics.wsConnections.dec({ state: 'ready' });
    } else {
      this.unpend(s.ip);
      this.metrics.wsConnections.dec({ state: 'pending' });
    }
  }

  private userBucket(userId: string): TokenBucket {
    let b = this.userBuckets.get(userId);
    if (!b) this.userBuckets.set(userId, (b = new TokenBucket(this.cfg.userMessageRatePerSec, this.cfg.userMessageBurst, this.now)));
    return b;
  }

  get size(): number {
    return this.sessions.size;
  }

  // SIGTERM: refuse new sockets, stop local runs (stored as interrupted, clients told),
  // let in-flight acks go out, then close every socket with 1001 so clients reconnect.
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    await this.runs.shutdown();
    await this.inflight.idle(graceMs);
    for (const s of [...this.sessions.values()]) s.close(1001, 'server restarting; reconnect with last_seq');
    this.stop();
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private unpend(ip: string): void {
    const n = (this.pendingByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.pendingByIp.delete(ip);
    else this.pendingByIp.set(ip, n);
  }

  private tick(): void {
    const now = this.now();
    for (const s of this.sessions.values()) s.tick(now);
    // Buckets of users with no socket left would otherwise accumulate forever.
    if (this.userBuckets.size > 10_000) for (const u of this.userBuckets.keys()) if (this.hub.connectionsOf(u) === 0) this.userBuckets.delete(u);
  }

  // After a bus outage (every conversation) or a gap in some: re-read the messages this
  // replica's sockets may have missed and ask the owners of runs in flight for fresh
  // snapshots. Only conversations with sockets here are read.
  private async resync(convs?: readonly string[]): Promise<void> {
    const local = new Set(this.hub.localConversations());
    for (const conv of convs === undefined ? local : convs.filter((c) => local.has(c))) {
      try {
        for (const m of await this.store.messagesAfter(conv, this.hub.resyncFrom(conv), 1000)) this.hub.deliverLocal(conv, { type: 'message', message: wireMessage(m) });
        const streaming = await this.store.streamingAnswer(conv);
        if (streaming?.run_id && !this.runs.isLocal(streaming.run_id)) this.bus.publish({ kind: 'snapshot_request', conv, run_id: streaming.run_id, session: '*' });
      } catch (err) {
        this.log.warn({ conv, err_message: (err as Error).message }, 'resync after bus outage failed');
      }
    }
  }
}
