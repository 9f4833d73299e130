// Cross-replica bus on PostgreSQL LISTEN/NOTIFY.
//
// Sending: events wait in an Outbox (per-token frames of a run merged, bounded) and leave
// in batches: everything queued while the previous batch was in flight goes in one round
// trip, one transaction, as few NOTIFY payloads as fit in 8000 bytes each. A batch leaves
// at once when the bus was quiet, else no sooner than `lingerMs` after the previous one
// began (Nagle; Kafka's linger.ms): each round trip wakes the sending backend, every
// listening backend (through PostgreSQL 18 they filter channels once woken) and the
// replicas it reaches, and those wake-ups, not the bytes, are what a NOTIFY costs; under
// load fewer, fuller batches cost less for the same tokens. NOTIFY order is per sending
// session and one connection sends, so each conversation's order holds.
// Items too big for a payload travel by reference through bus_events.
//
// Routing: each replica announces the conversations it watches (_watch/_unwatch), and on
// every (re)connect of its listener, and after a batch that failed to send (it may have
// carried announcements), says _hello and lists its watches again, so the others forget
// what they knew of it, learn it afresh, and announce theirs. Per-token frames are sent
// only for conversations another replica watches, and only on the channels of the
// replicas that watch them: each replica listens on the shared channel and on its own, and
// names its own in its _watch. So a lone replica sends none, and no replica (the sender
// included, which LISTEN would otherwise wake for its own NOTIFYs) hears the tokens of
// conversations it has no socket in. A replica that names no channel (an older version)
// gets them on the shared channel. Everything else goes to the shared channel (it is
// rare, and a replica that started watching a moment ago must not miss the start or end
// of a run).
//
// After the listening connection is lost and comes back, postgres.js re-LISTENs and we
// tell subscribers to re-read what they may have missed.
import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { isPerToken, WatchCounts, type Bus } from '../core/bus.js';
import { BusSubscribers } from '../core/bus-subscribers.js';
import { isControl, Outbox, pack, type Control, type Item, type Route } from '../core/bus-outbox.js';
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

// A replica's own channel: an identifier PostgreSQL keeps whole (under 64 bytes) whatever
// the replica's id.
export function replicaChannel(replicaId: string): string {
  return `${CHANNEL}_${createHash('sha256').update(replicaId).digest('hex').slice(0, 24)}`;
}

// One round trip of NOTIFY payloads, in order.
export type NotifySend = (payloads: { channel: string; payload: string }[]) => Promise<void>;

export interface PgBusOptions {
  maxQueued?: number;
  // least time between the starts of two batches (0: as soon as the previous one is answered)
  lingerMs?: number;
  // milliseconds on a monotonic clock (tests move it)
  now?: () => number;
  metrics?: BusMetrics;
  // wraps the sending round trip (tests inject a link that fails)
  wrapSend?: (send: NotifySend) => NotifySend;
}

export async function createPgBus(url: string, db: Db, log: Logger, replicaId: string, opts: PgBusOptions = {}): Promise<Bus> {
  const subs = new BusSubscribers(log);
  const outbox = new Outbox(opts.maxQueued);
  const m = opts.metrics ?? NO_BUS_METRICS;
  let droppedSeen = 0;
  // conversations other replicas watch: conv → replica → its channel (undefined: the shared one)
  const remote = new Map<string, Map<string, string | undefined>>();
  // and where a per-token frame of each goes: its watchers' channels, or undefined (the
  // shared channel) when one of them names none; kept in step with `remote`
  const routes = new Map<string, readonly string[] | undefined>();
  const rerouted = (conv: string) => {
    const w = remote.get(conv);
    if (w === undefined) return void routes.delete(conv);
    const chs = [...w.values()];
    routes.set(conv, chs.includes(undefined) ? undefined : (chs as string[]));
  };
  const NOWHERE: readonly string[] = [];
  const route: Route = (it) => (isControl(it) || !isPerToken(it) ? undefined : routes.has(it.conv) ? routes.get(it.conv) : NOWHERE);
  const own = replicaChannel(replicaId);
  let closing = false;
  // The link is down from the moment the sending connection is lost (PostgreSQL restarted
  // or gone), not only once a publish fails: a quiet replica would otherwise report it up
  // through a whole outage. It is up again at a publish that succeeds, the listener's
  // LISTEN again, or the probe below reconnecting, whichever comes first: a quiet replica
  // whose sending backend alone was ended must not report it down until its next publish.
  let probing = false;
  const probe = async () => {
    if (probing) return;
    probing = true;
    try {
      while (!closing) {
        try {
          await sender`SELECT 1`;
          if (!closing) m.connected(true);
          return;
        } catch (err) {
          log.debug(errInfo(err), 'bus link probe failed; trying again');
          await new Promise((r) => setTimeout(r, 1000).unref());
        }
      }
    } finally {
      probing = false;
    }
  };
  const sender = postgres(url, {
    // never recycled: a close means the link was lost
    max: 1, idle_timeout: 0, max_lifetime: 0, onnotice: () => undefined, connection: { application_name: 'chat-backend-notify' },
    onclose: () => {
      if (closing) return;
      m.connected(false);
      void probe();
    },
  });
  const listener = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'chat-backend-listener' } });
  // A batch is almost always one payload: as a plain text parameter it is written as it is,
  // where an array element is escaped character by character (JSON is full of quotes).
  const notify: NotifySend = async (payloads) => {
    if (payloads.length === 1) await sender`SELECT pg_notify(${payloads[0]!.channel}::text, ${payloads[0]!.payload}::text)`;
    else {
      await sender`SELECT pg_notify(c, p) FROM unnest(${payloads.map((x) => x.channel)}::text[], ${payloads.map((x) => x.payload)}::text[]) WITH ORDINALITY AS t(c, p, k) ORDER BY k`;
    }
  };
  const send = opts.wrapSend ? opts.wrapSend(notify) : notify;

  let sending = false;
  let scheduled = false;
  let n = 0;
  const linger = opts.lingerMs ?? 0;
  const now = opts.now ?? (() => performance.now());
  let lastBatch = -Infinity; // when the last batch was taken
  let ending = false; // closing: what is left leaves without lingering
  const held = () => (ending ? 0 : lastBatch + linger - now());
  const headFor = () => `${JSON.stringify({ o: replicaId, t: Date.now() }).slice(0, -1)},"n":`;
  const enqueue = (item: Item) => {
    outbox.push(item);
    if (!sending && !scheduled) {
      // Everything published in this turn of the event loop leaves together (and, under
      // load, what comes in the linger window the pump waits out).
      scheduled = true;
      setImmediate(() => { scheduled = false; void pump(); });
    }
  };
  const pump = async () => {
    if (sending) return;
    sending = true;
    try {
      while (outbox.length > 0) {
        const wait = held();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        lastBatch = now();
        const items = outbox.take();
        for (const it of items) if (!isControl(it)) m.published(eventKind(it));
        // The outbox counts what it dropped, not which kinds: per-token frames first.
        for (; droppedSeen < outbox.droppedTotal; droppedSeen++) m.dropped('response.delta', 'buffer_full');
        const packed = pack(items, headFor(), n, MAX_PAYLOAD, route);
        n = packed.next;
        const payloads: { channel: string; payload: string }[] = [];
        try {
          for (const { to, body } of packed.payloads) {
            const payload = typeof body === 'string' ? body : JSON.stringify({ o: replicaId, n: n++, r: await storeBusEvent(db, body) } satisfies Envelope);
            payloads.push({ channel: to ?? CHANNEL, payload });
          }
          // Unconfirmed: the batch in flight, until PostgreSQL answers the NOTIFY (or fails).
          m.pendingBytes(payloads.reduce((sum, p) => sum + Buffer.byteLength(p.payload), 0));
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
        if (!s) remote.set(c.conv, (s = new Map()));
        s.set(origin, c.ch);
        rerouted(c.conv);
        return;
      }
      case '_unwatch':
        forget(origin, c.conv);
        return;
      case '_hello':
      case '_bye':
        for (const conv of [...remote.keys()]) forget(origin, conv);
        if (c.kind === '_hello') for (const conv of watches.conversations()) enqueue({ kind: '_watch', conv, ch: own });
        return;
      case '_resync':
        log.warn({ origin }, 'another replica dropped bus events; re-reading what may have been missed');
        subs.resync();
        return;
    }
  };
  const forget = (origin: string, conv: string) => {
    const s = remote.get(conv);
    if (!s?.delete(origin)) return;
    if (s.size === 0) remote.delete(conv);
    rerouted(conv);
  };
  const apply = (env: Envelope, items: Item[]) => {
    if (env.t !== undefined) m.lag(Date.now() - env.t);
    for (const it of items) {
      if (isControl(it)) control(env.o, it);
      else {
        m.received(eventKind(it));
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
    enqueue(on ? { kind: '_watch', conv, ch: own } : { kind: '_unwatch', conv });
    m.watched(watches.size);
  });

  // Others forget what they knew of our interests and learn them again (and announce theirs).
  const announce = () => {
    enqueue({ kind: '_hello' });
    for (const conv of watches.conversations()) enqueue({ kind: '_watch', conv, ch: own });
  };

  let listens = 0;
  // Both channels on one connection, the shared one first: postgres.js LISTENs them again
  // in that order after a reconnect, so once our own channel's LISTEN is answered both
  // hold, and only then do we tell the others where to reach us.
  const shared = await listener.listen(CHANNEL, receive);
  const mine = await listener.listen(own, receive, () => {
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
      ending = true;
      enqueue({ kind: '_bye' });
      for (let i = 0; i < 100 && (sending || scheduled || outbox.length > 0); i++) await new Promise((r) => setTimeout(r, 20));
      closing = true;
      // The listening connection may already be gone at shutdown; nothing to undo then.
      for (const sub of [mine, shared]) await sub.unlisten().catch((err: unknown) => log.debug(errInfo(err), 'unlisten on close failed'));
      await Promise.all([sender.end({ timeout: 2 }), listener.end({ timeout: 2 })]);
    },
  };
}
