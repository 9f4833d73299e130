// Cross-replica bus on PostgreSQL LISTEN/NOTIFY.
//
// Sending: events wait in an Outbox (per-token frames of a run merged, bounded) and leave
// in batches: everything queued while the previous batch was in flight goes in one round
// trip, one transaction, as few NOTIFY payloads as fit in 8000 bytes each. NOTIFY order is
// per sending session and one connection sends, so each conversation's order holds.
// Items too big for a payload travel by reference through bus_events.
//
// Routing: each replica announces the conversations it watches (_watch/_unwatch), and on
// every (re)connect of its listener, and after a batch that failed to send (it may have
// carried announcements), says _hello and lists its watches again, so the others forget
// what they knew of it, learn it afresh, and announce theirs. Per-token frames are sent
// only for conversations another replica watches: a lone replica sends none. Everything
// else is sent always (it is rare, and a replica that started watching a moment ago must
// not miss the start or end of a run).
//
// After the listening connection is lost and comes back, postgres.js re-LISTENs and we
// tell subscribers to re-read what they may have missed.
import postgres from 'postgres';
import { isPerToken, WatchCounts, type Bus } from '../core/bus.js';
import { BusSubscribers } from '../core/bus-subscribers.js';
import { isControl, Outbox, pack, type Control, type Item } from '../core/bus-outbox.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import { eventKind, NO_BUS_METRICS, type BusMetrics } from '../core/bus-metrics.js';
import type { Db } from './client.js';
import { loadBusEvent, pruneBusEvents, storeBusEvent } from './bus-events.js';

const CHANNEL = 'chat_backend_events';
const MAX_PAYLOAD = 7900;

interface Envelope {
  o: string; // origin replica
  t?: number; // send time (ms since epoch), for the lag histogram
  n?: number; // per-origin payload number: identical payloads in one transaction would be merged by NOTIFY
  i?: Item[];
  r?: string; // bus_events id of an item too big to inline
}

// One round trip of NOTIFY payloads, in order.
export type NotifySend = (payloads: string[]) => Promise<void>;

export interface PgBusOptions {
  maxQueued?: number;
  metrics?: BusMetrics;
  // wraps the sending round trip (tests inject a link that fails)
  wrapSend?: (send: NotifySend) => NotifySend;
}

export async function createPgBus(url: string, db: Db, log: Logger, replicaId: string, opts: PgBusOptions = {}): Promise<Bus> {
  const subs = new BusSubscribers(log);
  const outbox = new Outbox(opts.maxQueued);
  const m = opts.metrics ?? NO_BUS_METRICS;
  let droppedSeen = 0;
  // conversations other replicas watch: conv → replicas
  const remote = new Map<string, Set<string>>();
  const sender = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'chat-backend-notify' } });
  const listener = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'chat-backend-listener' } });
  const notify: NotifySend = async (payloads) => {
    await sender`SELECT pg_notify(${CHANNEL}, p) FROM unnest(${payloads}::text[]) WITH ORDINALITY AS t(p, k) ORDER BY k`;
  };
  const send = opts.wrapSend ? opts.wrapSend(notify) : notify;

  let sending = false;
  let scheduled = false;
  let closing = false;
  let n = 0;
  const headFor = () => `${JSON.stringify({ o: replicaId, t: Date.now() }).slice(0, -1)},"n":`;
  const enqueue = (item: Item) => {
    outbox.push(item);
    if (!sending && !scheduled) {
      // Everything published in this turn of the event loop leaves together.
      scheduled = true;
      setImmediate(() => { scheduled = false; void pump(); });
    }
  };
  const pump = async () => {
    if (sending) return;
    sending = true;
    try {
      while (outbox.length > 0) {
        const items = outbox.take();
        for (const it of items) if (!isControl(it)) m.published(eventKind(it));
        // The outbox counts what it dropped, not which kinds: per-token frames first.
        for (; droppedSeen < outbox.droppedTotal; droppedSeen++) m.dropped('response.delta', 'buffer_full');
        const packed = pack(items, headFor(), n, MAX_PAYLOAD);
        n = packed.next;
        const payloads: string[] = [];
        try {
          for (const p of packed.payloads) payloads.push(typeof p === 'string' ? p : JSON.stringify({ o: replicaId, n: n++, r: await storeBusEvent(db, p) } satisfies Envelope));
          // Unconfirmed: the batch in flight, until PostgreSQL answers the NOTIFY (or fails).
          m.pendingBytes(payloads.reduce((sum, p) => sum + Buffer.byteLength(p), 0));
          await send(payloads);
          m.pendingBytes(0);
          m.connected(true);
        } catch (err) {
          m.pendingBytes(0);
          // The link is the database: down while a publish cannot reach it (postgres.js gives
          // no hook on the listening connection's close), up again at the next that does.
          m.connected(false);
          log.warn({ payloads: packed.payloads.length, ...errInfo(err) }, 'bus publish failed; other replicas will be told to resync');
          for (const it of items) if (!isControl(it)) m.dropped(eventKind(it), 'publish_error');
          outbox.push({ kind: '_resync' });
          // The batch may have carried _watch/_unwatch: state our interests in full again.
          announce();
          if (!closing) await new Promise((r) => setTimeout(r, 200));
          if (closing) return;
        }
      }
    } finally {
      sending = false;
    }
  };

  const control = (origin: string, c: Control) => {
    switch (c.kind) {
      case '_watch': {
        let s = remote.get(c.conv);
        if (!s) remote.set(c.conv, (s = new Set()));
        s.add(origin);
        return;
      }
      case '_unwatch':
        forget(origin, c.conv);
        return;
      case '_hello':
      case '_bye':
        for (const conv of [...remote.keys()]) forget(origin, conv);
        if (c.kind === '_hello') for (const conv of watches.conversations()) enqueue({ kind: '_watch', conv });
        return;
      case '_resync':
        log.warn({ origin }, 'another replica dropped bus events; re-reading what may have been missed');
        subs.resync();
        return;
    }
  };
  const forget = (origin: string, conv: string) => {
    const s = remote.get(conv);
    if (s?.delete(origin) && s.size === 0) remote.delete(conv);
  };
  const apply = (env: Envelope, items: Item[]) => {
    const lag = env.t === undefined ? undefined : Date.now() - env.t;
    for (const it of items) {
      if (isControl(it)) control(env.o, it);
      else {
        m.received(eventKind(it), lag);
        subs.emit(it, false);
      }
    }
  };

  // Remote payloads are applied strictly in arrival order; one that must be loaded holds
  // back those behind it. Our own echoes are dropped before any parsing.
  let loading: Promise<void> | undefined;
  const ownPrefix = JSON.stringify({ o: replicaId }).slice(0, -1) + ',';
  const receive = (payload: string) => {
    if (payload.startsWith(ownPrefix)) return;
    let env: Envelope;
    try {
      env = JSON.parse(payload) as Envelope;
    } catch (err) {
      log.warn(errInfo(err), 'bus payload is not JSON; dropped');
      return;
    }
    const run = async () => {
      const items = env.i ?? [(await loadBusEvent(db, env.r!)) as Item];
      apply(env, items.filter((x) => x !== undefined));
    };
    if (loading === undefined && env.r === undefined) return void run().catch((err: unknown) => log.warn(errInfo(err), 'bus event dropped'));
    const next = (loading ?? Promise.resolve()).then(run).catch((err: unknown) => log.warn(errInfo(err), 'bus event dropped'));
    loading = next;
    void next.finally(() => { if (loading === next) loading = undefined; });
  };

  const watches = new WatchCounts((conv, on) => {
    enqueue(on ? { kind: '_watch', conv } : { kind: '_unwatch', conv });
    m.watched(watches.size);
  });

  // Others forget what they knew of our interests and learn them again (and announce theirs).
  const announce = () => {
    enqueue({ kind: '_hello' });
    for (const conv of watches.conversations()) enqueue({ kind: '_watch', conv });
  };

  let listens = 0;
  const sub = await listener.listen(CHANNEL, receive, () => {
    // (Re)connected: what others believed about us may be stale, and we may have missed
    // their announcements.
    m.connected(true);
    announce();
    if (listens++ > 0) {
      log.warn('bus listener reconnected; re-reading what may have been missed');
      subs.resync();
    }
  });

  const pruner = setInterval(() => {
    pruneBusEvents(db, 300).catch((err: unknown) => log.warn(errInfo(err), 'pruning bus_events failed'));
  }, 60_000);
  pruner.unref();

  return {
    replicaId,
    publish(ev) {
      subs.emit(ev, true);
      if (isPerToken(ev) && !remote.has((ev as { conv: string }).conv)) return;
      enqueue(ev);
    },
    subscribe: (h) => subs.subscribe(h),
    watch(conv) {
      return watches.watch(conv);
    },
    onResync: (h) => subs.onResync(h),
    async close() {
      clearInterval(pruner);
      enqueue({ kind: '_bye' });
      for (let i = 0; i < 100 && (sending || scheduled || outbox.length > 0); i++) await new Promise((r) => setTimeout(r, 20));
      closing = true;
      // The listening connection may already be gone at shutdown; nothing to undo then.
      await sub.unlisten().catch((err: unknown) => log.debug(errInfo(err), 'unlisten on close failed'));
      await Promise.all([sender.end({ timeout: 2 }), listener.end({ timeout: 2 })]);
    },
  };
}
