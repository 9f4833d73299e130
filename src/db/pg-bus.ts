// Cross-replica bus on PostgreSQL LISTEN/NOTIFY. Sends go through one dedicated
// connection in order (NOTIFY order is per sending session); consecutive deltas of a run
// queued meanwhile are merged into one. Payloads over the 8000-byte NOTIFY limit travel
// by reference through bus_events. After the listening connection is lost and comes
// back, postgres.js re-LISTENs and we tell subscribers to re-read what they may have missed.
import postgres from 'postgres';
import type { Bus, BusEvent } from '../core/bus.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { Db } from './client.js';
import { loadBusEvent, pruneBusEvents, storeBusEvent } from './runs.js';

const CHANNEL = 'chat_backend_events';
const MAX_INLINE = 7900;

interface Envelope {
  o: string; // origin replica
  e?: BusEvent;
  r?: string; // bus_events id when the event was too big to inline
}

export async function createPgBus(url: string, db: Db, log: Logger, replicaId: string): Promise<Bus> {
  const handlers: ((ev: BusEvent, local: boolean) => void)[] = [];
  const resyncHandlers: (() => void)[] = [];
  const sender = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'chat-backend-notify' } });
  const listener = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'chat-backend-listener' } });

  const emit = (ev: BusEvent, local: boolean) => {
    for (const h of handlers) {
      try {
        h(ev, local);
      } catch (err) {
        log.error(errInfo(err), 'bus handler failed');
      }
    }
  };

  // Remote events are applied strictly in arrival order, even when one must be loaded.
  let inbound: Promise<void> = Promise.resolve();
  // Every replica hears its own NOTIFYs too; the envelope starts with its origin, so our
  // own echoes are dropped before any parsing or queueing (this runs for every delta).
  const ownPrefix = JSON.stringify({ o: replicaId }).slice(0, -1);
  const receive = (payload: string) => {
    if (payload.startsWith(ownPrefix + ',')) return;
    inbound = inbound.then(async () => {
      const env = JSON.parse(payload) as Envelope;
      const ev = env.e ?? ((await loadBusEvent(db, env.r!)) as BusEvent | undefined);
      if (ev) emit(ev, false);
    }).catch((err: unknown) => log.warn(errInfo(err), 'bus event dropped'));
  };

  let listens = 0;
  const sub = await listener.listen(CHANNEL, receive, () => {
    if (listens++ > 0) {
      log.warn('bus listener reconnected; re-reading what may have been missed');
      for (const h of resyncHandlers) h();
    }
  });

  const queue: BusEvent[] = [];
  let sending = false;
  const pump = async () => {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0) {
        const ev = coalesce(queue);
        try {
          let text = JSON.stringify({ o: replicaId, e: ev } satisfies Envelope);
          if (Buffer.byteLength(text) > MAX_INLINE) text = JSON.stringify({ o: replicaId, r: await storeBusEvent(db, ev) } satisfies Envelope);
          await sender`SELECT pg_notify(${CHANNEL}, ${text})`;
        } catch (err) {
          log.warn({ kind: ev.kind, ...errInfo(err) }, 'bus publish failed; other replicas resync when their listener reconnects');
        }
      }
    } finally {
      sending = false;
    }
  };

  const pruner = setInterval(() => {
    pruneBusEvents(db, 300).catch((err: unknown) => log.warn(errInfo(err), 'pruning bus_events failed'));
  }, 60_000);
  pruner.unref();

  return {
    replicaId,
    publish(ev) {
      emit(ev, true);
      queue.push(ev);
      void pump();
    },
    subscribe(h) {
      handlers.push(h);
    },
    onResync(h) {
      resyncHandlers.push(h);
    },
    async close() {
      clearInterval(pruner);
      for (let i = 0; i < 100 && (sending || queue.length > 0); i++) await new Promise((r) => setTimeout(r, 20));
      // The listening connection may already be gone at shutdown; nothing to undo then.
      await sub.unlisten().catch((err: unknown) => log.debug(errInfo(err), 'unlisten on close failed'));
      await Promise.all([sender.end({ timeout: 2 }), listener.end({ timeout: 2 })]);
    },
  };
}

// Takes the head of the queue, merging the response.delta frames of the same run that
// directly follow it, so a slow NOTIFY link carries fewer, larger deltas.
export function coalesce(queue: BusEvent[]): BusEvent {
  const head = queue.shift()!;
  if (head.kind !== 'frame' || head.frame.type !== 'response.delta' || head.only || head.except) return head;
  const first = head.frame;
  let delta = first.delta;
  while (queue.length > 0) {
    const next = queue[0]!;
    if (next.kind !== 'frame' || next.frame.type !== 'response.delta' || next.only || next.except) break;
    if (next.frame.run_id !== first.run_id || next.frame.offset !== first.offset + delta.length) break;
    delta += next.frame.delta;
    queue.shift();
  }
  return { ...head, frame: { ...first, delta } };
}
