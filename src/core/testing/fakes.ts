// In-process fakes of the realtime core's ports, for unit tests: a socket that records
// frames and closes, a token verifier, a gateway store, and a gateway wired to them with
// a LocalBus. No uWS, no PostgreSQL.
import type { Config } from '../../config.js';
import { createLogger } from '../../log.js';
import { createMetrics } from '../../metrics/metrics.js';
import { AppError } from '../../protocol/errors.js';
import type { ServerFrame } from '../../protocol/frames.js';
import type { Message } from '../message.js';
import { LocalBus, type Bus } from '../bus.js';
import { Gateway, type GatewayStore } from '../gateway.js';
import { Hub } from '../hub.js';
import { Inflight } from '../inflight.js';
import type { RunManager } from '../runs.js';
import type { SocketPort } from '../session-context.js';

export class FakePort implements SocketPort {
  readonly frames: ServerFrame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  send(text: string): boolean {
    this.frames.push(JSON.parse(text) as ServerFrame);
    return true;
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  buffered(): number {
    return 0;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  ofType<T extends ServerFrame['type']>(t: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === t);
  }
}

export const WS_CFG: Config['ws'] = {
  allowedOrigins: undefined, authTimeoutMs: 5000, heartbeatMs: 20_000, trustedProxies: undefined, maxPendingPerIp: 100,
  maxConnectionsPerUser: 100, ratePerSec: 100, rateBurst: 100, userMessageRatePerSec: 100, userMessageBurst: 100, maxBufferedBytes: 1 << 20,
};

// Tokens are the user id itself, valid for an hour, or `user@exp` (exp in epoch seconds);
// 'bad' is refused.
export const fakeVerifier = {
  async verify(token: string): Promise<{ sub: string; exp: number }> {
    if (token === 'bad') throw new AppError('unauthorized', 'token signature is invalid');
    const [sub, exp] = token.split('@');
    return { sub: sub!, exp: exp === undefined ? Math.floor(Date.now() / 1000) + 3600 : Number(exp) };
  },
};

// A stored message as the store ports return it; what a test does not name is empty.
export function fakeMessage(m: Partial<Message> & Pick<Message, 'id' | 'seq'>): Message {
  return {
    conversation_id: 'c1', role: 'assistant', status: 'complete', content: '', client_msg_id: null, run_id: null, user_id: null,
    metadata: {}, created_at: new Date(0), updated_at: new Date(0), ...m,
  };
}

export class FakeStore implements GatewayStore {
  // conversation → owner
  readonly owners = new Map<string, string>();
  readonly messages: Message[] = [];
  streaming: Message | undefined;
  failInsert: Error | undefined;

  async findOwned(userId: string, conv: string) {
    if (this.owners.get(conv) !== userId) return undefined;
    return { id: conv, last_seq: this.messages.length, streaming: this.streaming };
  }
  async messagesAfter(_conv: string, after: number, limit: number) {
    return this.messages.filter((m) => m.seq > after).slice(0, limit);
  }
  async insertUserMessage(_conv: string, userId: string, clientMsgId: string, content: string) {
    if (this.failInsert) throw this.failInsert;
    const dup = this.messages.find((m) => m.client_msg_id === clientMsgId);
    if (dup) return { message: dup, duplicate: true };
    const message = fakeMessage({
      id: `m${this.messages.length + 1}`, seq: this.messages.length + 1, role: 'user', status: 'complete', content, client_msg_id: clientMsgId, user_id: userId,
    });
    this.messages.push(message);
    return { message, duplicate: false };
  }
  async streamingAnswer() {
    return this.streaming;
  }
}

export interface FakeRuns {
  cancelled: { conv: string; runId: string }[];
  submitted: number[];
  local: Map<string, { conv: string }>;
  shutdowns: number;
}

export function fakeGateway(opts: { store?: FakeStore; cfg?: Partial<Config['ws']>; bus?: Bus } = {}) {
  const bus = opts.bus ?? new LocalBus('replica-1');
  const hub = new Hub(bus);
  const store = opts.store ?? new FakeStore();
  const fr: FakeRuns = { cancelled: [], submitted: [], local: new Map(), shutdowns: 0 };
  const runs = {
    localRun: (conv: string) => [...fr.local.entries()].filter(([, r]) => r.conv === conv).map(([runId, r]) => ({ runId, conv: r.conv, messageId: 'a1', seq: 2, content: '' }))[0],
    isLocal: (runId: string) => fr.local.has(runId),
    snapshot: (r: { runId: string; messageId: string; seq: number; content: string }) => ({ type: 'run.snapshot', run_id: r.runId, message_id: r.messageId, seq: r.seq, content: r.content, offset: r.content.length }),
    submit: (_conv: string, _user: string, seq: number) => { fr.submitted.push(seq); },
    cancel: (conv: string, runId: string) => { fr.cancelled.push({ conv, runId }); },
    shutdown: async () => { fr.shutdowns++; },
  } as unknown as RunManager;
  const metrics = createMetrics();
  const inflight = new Inflight();
  const g = new Gateway({
    cfg: { ...WS_CFG, ...opts.cfg }, verifier: fakeVerifier, hub, bus, runs, store, metrics, log: createLogger('silent'), inflight, autoRun: true,
  });
  return { g, bus, hub, store, runs: fr, metrics, inflight };
}

// Lets the promise chains started by a frame settle.
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
