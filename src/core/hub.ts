// The sockets of this replica, grouped by conversation, and everything the bus delivers
// to them. Presence is the union of local sessions and the lists other replicas publish.
import type { ServerFrame, SessionInfo } from '../protocol/frames.js';
import type { Bus, BusEvent } from './bus.js';

export interface Endpoint {
  readonly sessionId: string;
  readonly userId: string;
  readonly conv: string;
  // `text` is the frame's JSON, encoded once for all the sockets it goes to
  deliver(frame: ServerFrame, text: string): void;
}

export interface Observer {
  readonly sessionId: string;
  deliver(frame: ServerFrame): void;
}

const MAX_AHEAD = 256;

export class Hub {
  private readonly convs = new Map<string, Map<string, Endpoint>>();
  private readonly remote = new Map<string, Map<string, SessionInfo[]>>();
  private readonly perUser = new Map<string, number>();
  // the bus watch held while this replica has sockets in a conversation
  private readonly watching = new Map<string, () => void>();
  // Per conversation, the seq up to which every message reached this replica's sockets,
  // and the seqs delivered past a gap. Only a contiguous run moves the mark: a message
  // that arrives live just after a bus outage must not hide the ones the outage lost
  // from the re-read (a LISTEN re-established delivers before the reconnect is reported).
  private readonly lastSeq = new Map<string, number>();
  private readonly ahead = new Map<string, Set<number>>();
  // answers seen streaming and not yet finished, by conversation: message id → seq
  private readonly open = new Map<string, Map<string, number>>();
  // HTTP event streams (UI message stream): frames like a socket, but no presence or limits
  // Followers of a conversation's frames that are not sockets (HTTP event streams): they
  // take frames, not their JSON, and take no part in presence.
  private readonly observers = new Map<string, Map<string, Observer>>();
  private readonly snapshotHandlers: ((ev: Extract<BusEvent, { kind: 'snapshot_request' }>) => void)[] = [];
  private readonly cancelHandlers: ((ev: Extract<BusEvent, { kind: 'cancel' }>) => void)[] = [];

  constructor(private readonly bus: Bus) {
    bus.subscribe((ev, local) => this.onEvent(ev, local));
  }

  // lastSeq: the conversation's last seq as the joining session read it, where the
  // contiguous mark starts when this is its first socket here.
  join(ep: Endpoint, lastSeq?: number): void {
    let m = this.convs.get(ep.conv);
    if (!m) {
      this.convs.set(ep.conv, (m = new Map()));
      this.watching.set(ep.conv, this.bus.watch(ep.conv));
      if (lastSeq !== undefined) this.lastSeq.set(ep.conv, lastSeq);
    }
    m.set(ep.sessionId, ep);
    this.perUser.set(ep.userId, (this.perUser.get(ep.userId) ?? 0) + 1);
    this.announce(ep.conv, true);
  }

  leave(ep: Endpoint): void {
    const m = this.convs.get(ep.conv);
    if (!m?.delete(ep.sessionId)) return;
    if (m.size === 0) {
      this.convs.delete(ep.conv);
      this.lastSeq.delete(ep.conv);
      this.ahead.delete(ep.conv);
      this.open.delete(ep.conv);
      this.watching.get(ep.conv)?.();
      this.watching.delete(ep.conv);
    }
    const n = (this.perUser.get(ep.userId) ?? 1) - 1;
    if (n <= 0) this.perUser.delete(ep.userId);
    else this.perUser.set(ep.userId, n);
    this.announce(ep.conv, false);
  }

  // An observer makes this replica watch the conversation on the bus like a socket does,
  // so per-token frames routed only to watchers reach it.
  observe(conv: string, ob: Observer): () => void {
    let m = this.observers.get(conv);
    if (!m) this.observers.set(conv, (m = new Map()));
    m.set(ob.sessionId, ob);
    const unwatch = this.bus.watch(conv);
    return () => {
      unwatch();
      if (m.delete(ob.sessionId) && m.size === 0 && this.observers.get(conv) === m) this.observers.delete(conv);
    };
  }

  connectionsOf(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  localConversations(): string[] {
    return [...this.convs.keys()];
  }

  // The seq up to which every message of a conversation was delivered to this replica's sockets.
  deliveredSeq(conv: string): number {
    return this.lastSeq.get(conv) ?? 0;
  }

  // Where a re-read after a bus outage must start: before the oldest answer this replica
  // saw start but not finish, since its completion may be what was missed.
  resyncFrom(conv: string): number {
    const open = [...(this.open.get(conv)?.values() ?? [])];
    return Math.min(this.deliveredSeq(conv), ...open.map((s) => s - 1));
  }

  presence(conv: string): SessionInfo[] {
    const out = [...(this.convs.get(conv)?.values() ?? [])].map((e) => ({ session_id: e.sessionId, user_id: e.userId }));
    for (const list of this.remote.get(conv)?.values() ?? []) out.push(...list);
    return out.sort((a, b) => a.session_id.localeCompare(b.session_id));
  }

  onSnapshotRequest(h: (ev: Extract<BusEvent, { kind: 'snapshot_request' }>) => void): void {
    this.snapshotHandlers.push(h);
  }

  onCancel(h: (ev: Extract<BusEvent, { kind: 'cancel' }>) => void): void {
    this.cancelHandlers.push(h);
  }

  // Deliver to this replica's sockets only (e.g. a resync after a bus outage).
  deliverLocal(conv: string, frame: ServerFrame, only?: string): void {
    this.onEvent({ kind: 'frame', conv, frame, ...(only ? { only } : {}) }, true);
  }

  private track(conv: string, f: ServerFrame): void {
    if (!this.convs.has(conv)) return;
    if (f.type === 'message') {
      this.delivered(conv, f.message.seq);
      let o = this.open.get(conv);
      if (f.message.status === 'streaming') {
        if (!o) this.open.set(conv, (o = new Map()));
        o.set(f.message.id, f.message.seq);
      } else o?.delete(f.message.id);
    } else if (f.type === 'response.completed' || f.type === 'run.failed') {
      this.open.get(conv)?.delete(f.message_id);
    }
  }

  private delivered(conv: string, seq: number): void {
    const mark = this.lastSeq.get(conv);
    if (mark === undefined) return void this.lastSeq.set(conv, seq); // unseeded: from here on
    if (seq <= mark) return;
    let ahead = this.ahead.get(conv);
    if (seq > mark + 1) {
      // bounded: past it the mark just stays behind, and a re-read repeats a few messages
      if (!ahead) this.ahead.set(conv, (ahead = new Set()));
      if (ahead.size < MAX_AHEAD) ahead.add(seq);
      return;
    }
    let m = seq;
    while (ahead?.delete(m + 1)) m++;
    if (ahead?.size === 0) this.ahead.delete(conv);
    this.lastSeq.set(conv, m);
  }

  private announce(conv: string, hello: boolean): void {
    const sessions = [...(this.convs.get(conv)?.values() ?? [])].map((e) => ({ session_id: e.sessionId, user_id: e.userId }));
    this.bus.publish({ kind: 'presence', conv, replica: this.bus.replicaId, sessions, hello });
  }

  private onEvent(ev: BusEvent, local: boolean): void {
    switch (ev.kind) {
      case 'frame': {
        this.track(ev.conv, ev.frame);
        const obs = this.observers.get(ev.conv);
        if (obs) for (const o of obs.values()) if ((ev.only === undefined || ev.only === o.sessionId) && ev.except !== o.sessionId) o.deliver(ev.frame);
        const m = this.convs.get(ev.conv);
        if (!m) return;
        if (ev.only !== undefined) {
          m.get(ev.only)?.deliver(ev.frame, JSON.stringify(ev.frame));
          return;
        }
        let text: string | undefined;
        for (const ep of m.values()) if (ep.sessionId !== ev.except) ep.deliver(ev.frame, (text ??= JSON.stringify(ev.frame)));
        return;
      }
      case 'presence': {
        if (!local) {
          let r = this.remote.get(ev.conv);
          if (!r) this.remote.set(ev.conv, (r = new Map()));
          if (ev.sessions.length === 0) r.delete(ev.replica);
          else r.set(ev.replica, ev.sessions);
          if (r.size === 0) this.remote.delete(ev.conv);
          // A replica that just gained a session asks the others to introduce theirs.
          if (ev.hello && this.convs.has(ev.conv)) this.announce(ev.conv, false);
        }
        const m = this.convs.get(ev.conv);
        if (!m) return;
        const frame: ServerFrame = { type: 'presence', sessions: this.presence(ev.conv) };
        const text = JSON.stringify(frame);
        for (const ep of m.values()) ep.deliver(frame, text);
        return;
      }
      case 'snapshot_request':
        for (const h of this.snapshotHandlers) h(ev);
        return;
      case 'cancel':
        for (const h of this.cancelHandlers) h(ev);
        return;
    }
  }
}
