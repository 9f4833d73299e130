// Every metric the server exports, declared once on its own Registry (never the global
// one, so tests and multiple servers in one process do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusMetrics } from '../core/bus-metrics.js';

// Sub-millisecond buckets: WebSocket auth and acks are expected to take well under 10 ms.
const FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SLOW = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

// prom-client resolves a label set by hashing it on every inc(); on per-token paths the
// child for each label value is resolved once.
export function childCache<T>(make: (v: string) => T): (v: string) => T {
  const m = new Map<string, T>();
  return (v) => {
    let c = m.get(v);
    if (c === undefined) m.set(v, (c = make(v)));
    return c;
  };
}

// A count bumped once per frame sent: even a cached child's inc() costs a label hash and
// an exemplar check per call, so the frame path adds to a plain number and the counter
// takes the sums when it is collected (at every scrape).
export class Tally {
  n = 0;
  inc(): void {
    this.n++;
  }
}

export function tallies(into: (v: string) => { inc(n: number): void }): { get: (v: string) => Tally; flush: () => void } {
  const all = new Map<string, Tally>();
  return {
    get: (v) => {
      let t = all.get(v);
      if (t === undefined) all.set(v, (t = new Tally()));
      return t;
    },
    flush: () => {
      for (const [v, t] of all) {
        if (t.n === 0) continue;
        into(v).inc(t.n);
        t.n = 0;
      }
    },
  };
}

export function createMetrics() {
  let flushFramesOut = () => {};
  let flushBusCounts = () => {};
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const m = {
    registry,
    httpDuration: new Histogram({
      name: 'chat_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern, method and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: FAST,
      registers: r,
    }),
    dbDuration: new Histogram({
      name: 'chat_db_query_duration_seconds',
      help: 'PostgreSQL query duration by named query and outcome',
      labelNames: ['query', 'outcome'] as const,
      buckets: FAST,
      registers: r,
    }),
    wsConnect: new Histogram({
      name: 'chat_ws_connect_duration_seconds',
      help: 'WebSocket upgrade to ready, server side',
      buckets: FAST,
      registers: r,
    }),
    wsAuth: new Histogram({
      name: 'chat_ws_auth_duration_seconds',
      help: 'WebSocket first-message auth (token verify + ownership check)',
      labelNames: ['result'] as const,
      buckets: FAST,
      registers: r,
    }),
    wsRoundtrip: new Histogram({
      name: 'chat_ws_roundtrip_duration_seconds',
      help: 'Server ping to client pong round trip',
      buckets: FAST,
      registers: r,
    }),
    wsMessageAck: new Histogram({
      name: 'chat_ws_message_ack_duration_seconds',
      help: 'Client message received to ack sent (includes the commit)',
      buckets: FAST,
      registers: r,
    }),
    wsConnections: new Gauge({
      name: 'chat_ws_connections',
      help: 'Open WebSocket connections by state',
      labelNames: ['state'] as const,
      registers: r,
    }),
    wsAuthFailures: new Counter({
      name: 'chat_ws_auth_failures_total',
      help: 'WebSocket authentication failures by reason',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    wsFrames: new Counter({
      name: 'chat_ws_frames_total',
      help: 'WebSocket frames by direction and type',
      labelNames: ['direction', 'type'] as const,
      registers: r,
      collect: () => flushFramesOut(),
    }),
    agentRunDuration: new Histogram({
      name: 'chat_agent_run_duration_seconds',
      help: 'Agent run duration by outcome',
      labelNames: ['outcome'] as const,
      buckets: SLOW,
      registers: r,
    }),
    agentFirstToken: new Histogram({
      name: 'chat_agent_first_token_seconds',
      help: 'Time from run start to the first response token',
      buckets: SLOW,
      registers: r,
    }),
    llmRequestDuration: new Histogram({
      name: 'chat_llm_request_duration_seconds',
      help: 'Model calls (one streamed chat completion, retries included) by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      buckets: SLOW,
      registers: r,
    }),
    llmTokens: new Counter({
      name: 'chat_llm_tokens_total',
      help: 'Tokens by kind: prompt and completion of real model calls, saved when the cache answered',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    llmCacheRequests: new Counter({
      name: 'chat_llm_cache_requests_total',
      help: 'Response cache lookups by result (hit, miss, bypass when caching is off for the model)',
      labelNames: ['result'] as const,
      registers: r,
    }),
    busPublished: new Counter({
      name: 'chat_bus_published_total',
      help: 'Events this replica handed to the cross-replica bus, by bus and event kind',
      labelNames: ['bus', 'kind'] as const,
      registers: r,
      collect: () => flushBusCounts(),
    }),
    busReceived: new Counter({
      name: 'chat_bus_received_total',
      help: 'Events this replica received from other replicas, by bus and event kind',
      labelNames: ['bus', 'kind'] as const,
      registers: r,
      collect: () => flushBusCounts(),
    }),
    busDropped: new Counter({
      name: 'chat_bus_dropped_total',
      help: 'Events not sent to other replicas (link down, publish buffer full, publish error); those replicas are told to resync',
      labelNames: ['bus', 'kind', 'reason'] as const,
      registers: r,
    }),
    busGaps: new Counter({
      name: 'chat_bus_gaps_total',
      help: 'Skipped sequence numbers in other replicas\' events (lost between NATS servers, or dropped by the publisher); each makes this replica re-read from the database',
      labelNames: ['bus'] as const,
      registers: r,
    }),
    busLag: new Histogram({
      name: 'chat_bus_lag_seconds',
      help: 'Publish on one replica to receipt on this one, per bus message (one NOTIFY payload or NATS message; wall clocks of both hosts)',
      labelNames: ['bus'] as const,
      buckets: FAST,
      registers: r,
    }),
    busPendingBytes: new Gauge({
      name: 'chat_bus_pending_bytes',
      help: 'Bytes handed to the bus link and not yet confirmed by the server',
      labelNames: ['bus'] as const,
      registers: r,
    }),
    busConnected: new Gauge({
      name: 'chat_bus_connected',
      help: '1 while the bus link is up',
      labelNames: ['bus'] as const,
      registers: r,
    }),
    busWatched: new Gauge({
      name: 'chat_bus_watched_conversations',
      help: 'Conversations this replica receives remote events for',
      labelNames: ['bus'] as const,
      registers: r,
    }),
    draining: new Gauge({
      name: 'chat_server_draining',
      help: '1 while the server drains after SIGTERM',
      registers: r,
    }),
  };
  const framesOut = tallies(childCache((type) => m.wsFrames.labels('out', type)));
  flushFramesOut = framesOut.flush;
  // bus events counted per event, as frames are: keyed by "bus kind"
  const split = (k: string) => k.split(' ') as [string, string];
  const busOut = tallies(childCache((k) => m.busPublished.labels(...split(k))));
  const busIn = tallies(childCache((k) => m.busReceived.labels(...split(k))));
  flushBusCounts = () => {
    busOut.flush();
    busIn.flush();
  };
  return { ...m, wsFramesOut: framesOut.get, busPublishedTally: busOut.get, busReceivedTally: busIn.get };
}

export type Metrics = ReturnType<typeof createMetrics>;

// The BusMetrics port for one bus ('postgres' or 'nats'), over these metrics.
export function busMetrics(m: Metrics, bus: string): BusMetrics {
  // Exported at 0 from the start, so rate() over it says "none" rather than nothing.
  m.busGaps.inc({ bus }, 0);
  const out = childCache((kind) => m.busPublishedTally(`${bus} ${kind}`));
  const into = childCache((kind) => m.busReceivedTally(`${bus} ${kind}`));
  const lag = m.busLag.labels(bus);
  return {
    published: (kind) => out(kind).inc(),
    received: (kind) => into(kind).inc(),
    lag: (ms) => lag.observe(Math.max(0, ms) / 1000),
    dropped: (kind, reason) => m.busDropped.inc({ bus, kind, reason }),
    gap: () => m.busGaps.inc({ bus }),
    pendingBytes: (bytes) => m.busPendingBytes.set({ bus }, bytes),
    connected: (up) => m.busConnected.set({ bus }, up ? 1 : 0),
    watched: (count) => m.busWatched.set({ bus }, count),
  };
}
