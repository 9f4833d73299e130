// Cross-replica bus on core NATS. Every conversation has its own subject
// (<prefix>.conv.<id>); a replica subscribes while it watches the conversation (sockets
// there, or an answer running there), so it receives only the events of its own
// conversations, and snapshot requests, cancels and presence reach whoever runs or serves
// the conversation because they watch it too. One connection publishes everything, so
// NATS keeps one publisher's events in order per subject.
//
// Events published in one turn of the event loop leave together, one message per
// conversation, with per-token frames of a run merged (the PostgreSQL bus's outbox): under
// load a turn holds several tokens of every run, so the message rate falls as the load
// rises instead of filling the publish bound.
//
// Nothing is persisted in NATS (no JetStream): what a replica misses while its link is
// down is re-read from the database, as with the PostgreSQL bus. See docs/scaling.md.
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { WatchCounts, type Bus, type BusEvent } from '../core/bus.js';
import { isControl, Outbox } from '../core/bus-outbox.js';
import { BusSubscribers } from '../core/bus-subscribers.js';
import { eventKind, NO_BUS_METRICS, type BusMetrics } from '../core/bus-metrics.js';
import type { NatsConfig } from '../config.js';
import { errInfo, type Logger } from '../log.js';
import { natsConnectError } from './nats-connect-error.js';
import { natsConnectionOptions } from './nats-options.js';
import { PublishGate } from './publish-gate.js';
import { Sequences } from './sequences.js';

// What travels on a conversation subject: an event, or a control note from a replica.
export interface Envelope {
  o: string; // origin replica
  t: number; // publish time (ms since epoch), for the lag histogram
  e?: BusEvent;
  es?: BusEvent[]; // several events of one turn, in order (e when there is one)
  s?: number; // the origin's sequence number of events on this subject while it watches it
  r?: 1; // the origin may have failed to deliver events here: re-read from the database
}

export interface NatsBusOptions {
  cfg: NatsConfig;
  replicaId: string;
  log: Logger;
  metrics?: BusMetrics;
}

// Conversation ids are UUIDs; anything else that is not a plain subject token is encoded
// so that a dot or wildcard can never widen a subscription.
export function conversationSubject(prefix: string, conv: string): string {
  return `${prefix}.conv.${/^[A-Za-z0-9_-]+$/.test(conv) ? conv : `~${Buffer.from(conv).toString('base64url')}`}`;
}

// Every replica listens here for hints that concern all conversations (see PublishGate).
export function broadcastSubject(prefix: string): string {
  return `${prefix}.resync`;
}

// One encoder for every publish (one per delta otherwise).
const ENCODER = new TextEncoder();

export async function createNatsBus(o: NatsBusOptions): Promise<Bus> {
  const { cfg, replicaId, log } = o;
  const metrics = o.metrics ?? NO_BUS_METRICS;
  const options = natsConnectionOptions(cfg, `chat-backend ${replicaId}`);
  let nc: NatsConnection;
  try {
    nc = await connect(options);
  } catch (err) {
    throw natsConnectError(err, cfg);
  }
  log.info({ server: nc.getServer(), prefix: cfg.subjectPrefix }, 'NATS bus connected');
  metrics.connected(true);

  const subscribers = new BusSubscribers(log);
  const safely = (what: string, f: () => void) => subscribers.safely(what, f);
  const subs = new Map<string, Subscription>();
  const sequences = new Sequences();
  const subject = (conv: string) => conversationSubject(cfg.subjectPrefix, conv);
  let closing = false;

  const emit = (ev: BusEvent, local: boolean) => subscribers.emit(ev, local);

  // Several hints in a burst make one re-read: of the conversations named, or of every
  // conversation when one of them concerns all. A gap in one conversation re-reads that
  // one only: under load, re-reading everything for each gap would bury the database.
  let resyncTimer: NodeJS.Timeout | undefined;
  let resyncAll = false;
  const resyncConvs = new Set<string>();
  const resyncSoon = (conv?: string) => {
    if (conv === undefined) resyncAll = true;
    else resyncConvs.add(conv);
    resyncTimer ??= setTimeout(() => {
      resyncTimer = undefined;
      const convs = resyncAll ? undefined : [...resyncConvs];
      resyncAll = false;
      resyncConvs.clear();
      subscribers.resync(convs);
    }, 20);
  };

  const raw = (conv: string, env: Envelope): number => {
    const data = ENCODER.encode(JSON.stringify(env));
    nc.publish(subject(conv), data);
    return data.length;
  };

  const gate = new PublishGate({
    maxPendingBytes: cfg.maxPendingBytes,
    flush: () => nc.flush(),
    pending: (n) => metrics.pendingBytes(n),
    // The hints themselves are tiny and at most one per conversation, so they bypass the bound.
    hint: (convs) => {
      for (const conv of convs) safely('hint', () => raw(conv, { o: replicaId, t: Date.now(), r: 1 }));
      if (convs.length > 0) log.info({ conversations: convs.length }, 'asked other replicas to re-read conversations whose events may not have reached them');
    },
    hintAll: () => {
      safely('hint', () => nc.publish(broadcastSubject(cfg.subjectPrefix), JSON.stringify({ o: replicaId, t: Date.now(), r: 1 } satisfies Envelope)));
      log.warn('asked every replica to re-read all its conversations: more conversations missed events than can be listed');
    },
    onError: (err) => log.debug(errInfo(err), 'NATS flush failed; the reconnect resynchronises'),
  });

  // One conversation's events of this turn: one message, numbered before the gate so that
  // a dropped one leaves a gap the watchers notice.
  const publishBatch = (conv: string, events: BusEvent[]) => {
    const seq = watches.has(conv) ? sequences.next(conv) : undefined;
    const verdict = gate.admit(conv);
    if (verdict !== 'ok') return void events.forEach((ev) => metrics.dropped(eventKind(ev), verdict));
    try {
      const body = events.length === 1 ? { e: events[0] } : { es: events };
      gate.sent(raw(conv, { o: replicaId, t: Date.now(), ...body, ...(seq === undefined ? {} : { s: seq }) }));
      for (const ev of events) metrics.published(eventKind(ev));
    } catch (err) {
      // e.g. larger than the server's max_payload: the watchers re-read it
      gate.failed(conv);
      for (const ev of events) metrics.dropped(eventKind(ev), 'publish_error');
      log.warn({ conv, events: events.length, ...errInfo(err) }, 'NATS publish failed');
    }
  };

  // Bound: the outbox's (about one entry per active run per turn; past it per-token frames
  // are dropped, and then every replica is asked to re-read, as the gate does).
  const outbox = new Outbox();
  let scheduled = false;
  const sendQueued = () => {
    scheduled = false;
    const byConv = new Map<string, BusEvent[]>();
    let dropped = false;
    for (const it of outbox.take()) {
      if (isControl(it)) {
        dropped = true;
        continue;
      }
      const list = byConv.get(it.conv);
      if (list) list.push(it);
      else byConv.set(it.conv, [it]);
    }
    for (const [conv, events] of byConv) publishBatch(conv, events);
    if (dropped) gate.overflowed();
  };

  const receive = (conv: string, msg: Msg) => {
    let env: Envelope;
    try {
      env = msg.json<Envelope>();
    } catch (err) {
      return void log.warn({ subject: msg.subject, ...errInfo(err) }, 'undecodable NATS bus message dropped');
    }
    if (env.o === replicaId) return;
    const events = env.es ?? (env.e ? [env.e] : undefined);
    if (events) {
      if (env.s !== undefined && sequences.gap(conv, env.o, env.s)) {
        metrics.gap();
        log.warn({ conv, origin: env.o, seq: env.s }, 'gap in a replica\'s events on the NATS bus; re-reading from the database');
        resyncSoon(conv);
      }
      metrics.lag(Date.now() - env.t);
      for (const ev of events) {
        metrics.received(eventKind(ev));
        emit(ev, false);
      }
    } else if (env.r) {
      resyncSoon(conv);
    }
  };

  nc.subscribe(broadcastSubject(cfg.subjectPrefix), {
    callback: (err, msg) => (err ? log.warn(errInfo(err), 'NATS subscription error') : safely('broadcast hint', () => msg.json<Envelope>().o !== replicaId && resyncSoon())),
  });

  const watches = new WatchCounts((conv, watched) => {
    sequences.reset(conv);
    if (!watched) {
      const sub = subs.get(conv);
      subs.delete(conv);
      safely('unsubscribe', () => sub?.unsubscribe());
    } else {
      safely('subscribe', () => {
        subs.set(conv, nc.subscribe(subject(conv), { callback: (err, msg) => (err ? log.warn(errInfo(err), 'NATS subscription error') : receive(conv, msg)) }));
      });
    }
    metrics.watched(subs.size);
  });

  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          gate.down();
          metrics.connected(false);
          log.warn({ server: s.server }, 'NATS bus disconnected; events are dropped until it reconnects, then re-read');
          break;
        case 'reconnect':
          metrics.connected(true);
          log.warn({ server: s.server }, 'NATS bus reconnected; re-reading what may have been missed');
          // What this replica published just before the link broke may be lost too.
          gate.up(watches.conversations());
          // Its answers in flight re-sent whole, before their next token: the watchers'
          // own re-read and snapshot request take a database read and a round trip, and
          // an answer ending sooner left their deltas with a hole to the end.
          subscribers.linkRestored();
          sequences.forgetSeen();
          subscribers.resync();
          break;
        case 'error':
          log.warn(errInfo(s.error), 'NATS server reported an error');
          break;
        case 'slowConsumer':
          log.warn({ pending: s.pending }, 'NATS subscription is a slow consumer');
          break;
        default:
          break;
      }
    }
  })().catch((err: unknown) => log.warn(errInfo(err), 'NATS status stream ended'));
  void nc.closed().then((err) => {
    if (closing) return;
    metrics.connected(false);
    // The client gave up (e.g. authorization refused twice): the process keeps serving its
    // own sockets; the gauge and this log say the bus is gone.
    log.error(err ? errInfo(err) : {}, 'NATS bus connection closed for good');
  });

  return {
    replicaId,
    publish(ev) {
      emit(ev, true);
      outbox.push(ev);
      if (!scheduled) {
        scheduled = true;
        // At the end of this task, not in a later turn of the event loop: a run's tokens
        // arrive here from TurnTokens' flush at the end of a turn, all runs in one
        // synchronous pass, so they still leave together, one turn sooner.
        queueMicrotask(sendQueued);
      }
    },
    subscribe: (h) => subscribers.subscribe(h),
    watch(conv) {
      return watches.watch(conv);
    },
    onResync: (h) => subscribers.onResync(h),
    onLinkRestored: (h) => subscribers.onLinkRestored(h),
    async close() {
      closing = true;
      clearTimeout(resyncTimer);
      if (scheduled) sendQueued();
      gate.close();
      // drain() delivers what is queued both ways, then closes; bounded so shutdown never hangs on NATS.
      const drained = nc.drain().catch((err: unknown) => log.debug(errInfo(err), 'NATS drain failed'));
      const timer = new Promise<void>((r) => setTimeout(r, 2000).unref());
      await Promise.race([drained, timer]);
      if (!nc.isClosed()) await nc.close().catch((err: unknown) => log.debug(errInfo(err), 'NATS close failed'));
      metrics.connected(false);
    },
  };
}
