// Every metric the server exports, declared once on its own Registry (never the global
// one, so tests and multiple servers in one process do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

export function createMetrics() {
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
    busEvents: new Counter({
      name: 'chat_bus_events_total',
      help: 'Events crossing replicas through the bus, by direction (out = sent to other replicas, in = received from them) and kind (frame type, or presence, snapshot_request, cancel); merged deltas count once',
      labelNames: ['bus', 'direction', 'kind'] as const,
      registers: r,
    }),
    busPayloads: new Counter({
      name: 'chat_bus_payloads_total',
      help: 'Bus messages (NOTIFY payloads) sent and received; each carries one or more events',
      labelNames: ['bus', 'direction'] as const,
      registers: r,
    }),
    busDropped: new Counter({
      name: 'chat_bus_dropped_total',
      help: 'Events dropped because the bus queue was full; the other replicas were told to resync',
      labelNames: ['bus'] as const,
      registers: r,
    }),
    draining: new Gauge({
      name: 'chat_server_draining',
      help: '1 while the server drains after SIGTERM',
      registers: r,
    }),
  };
  return { ...m, wsFramesOut: childCache((type) => m.wsFrames.labels('out', type)) };
}

export type Metrics = ReturnType<typeof createMetrics>;
