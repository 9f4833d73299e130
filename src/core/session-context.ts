// What a WebSocket session needs from the replica around it: its ports (socket, token
// verifier, store), the parts of the realtime core it talks to, its limits and clock, and
// the gateway's bookkeeping. Narrow on purpose: a session sees none of the gateway's state,
// and a unit test builds one from fakes.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Message } from './message.js';
import type { Approvals } from './approvals.js';
import type { Bus } from './bus.js';
import type { Endpoint, Hub } from './hub.js';
import type { Inflight } from './inflight.js';
import type { TokenBucket } from './rate-limit.js';
import type { RunManager } from './runs.js';

export interface SocketPort {
  // false when the frame could not be buffered (the reader is too slow); `text` is the
  // frame's JSON
  send(text: string): boolean;
  close(code: number, reason: string): void;
  // bytes queued for this socket, and a promise for when the queue drains
  buffered(): number;
  drained(): Promise<void>;
}

export interface TokenVerifier {
  verify(token: string): Promise<{ sub: string; exp: number }>;
}

export interface SessionStore {
  // ownership, last_seq and the answer streaming now (on any replica), in one call
  findOwned(userId: string, conv: string): Promise<{ id: string; last_seq: number; streaming: Message | undefined } | undefined>;
  messagesAfter(conv: string, afterSeq: number, limit: number): Promise<Message[]>;
  // answered (duplicates only): whether the message has its answer row yet, streaming or
  // ended, on any replica
  insertUserMessage(conv: string, userId: string, clientMsgId: string, content: string): Promise<{ message: Message; duplicate: boolean; answered?: boolean } | undefined>;
  streamingAnswer(conv: string): Promise<Message | undefined>;
}

export type SessionState = 'pending' | 'authenticating' | 'ready' | 'closed';

// The session as the gateway's bookkeeping sees it.
export interface SessionRef extends Endpoint {
  readonly ip: string;
}

export interface SessionContext {
  readonly limits: Config['ws'];
  // wall-clock milliseconds (Date.now in production; fake timers in tests)
  now(): number;
  readonly verifier: TokenVerifier;
  readonly store: SessionStore;
  readonly hub: Pick<Hub, 'join' | 'connectionsOf'>;
  readonly bus: Pick<Bus, 'publish'>;
  readonly runs: Pick<RunManager, 'localRun' | 'isLocal' | 'snapshot' | 'cancel' | 'submit'>;
  readonly approvals: Pick<Approvals, 'pendingFrames' | 'decide'> | undefined;
  readonly inflight: Pick<Inflight, 'begin' | 'end'>;
  readonly metrics: Metrics;
  readonly log: Logger;
  // false with AGENT=none: messages are stored and relayed, no agent answers
  readonly autoRun: boolean;
  // the gateway's bookkeeping: per-address pending counts, connection gauges, user buckets
  authenticated(s: SessionRef): void;
  released(s: SessionRef, was: SessionState): void;
  authFailed(reason: string): void;
  userBucket(userId: string): TokenBucket;
}
