// The SDK's public types. Wire shapes come from the protocol module (types only, so the
// browser bundle never pulls in the server's validation code).
import type { ActiveRun, ServerFrame, SessionInfo, WireMessage } from '../protocol/wire.js';
import type { ReconnectOptions } from './backoff.js';
import type { SocketFactory } from './socket.js';

export type { ActiveRun, ServerFrame, SessionInfo, WireMessage };
export type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

// Called before every connection attempt and before the token expires; may be async.
export type TokenSource = (why: 'connect' | 'reconnect' | 'refresh') => string | Promise<string>;

export interface ClientOptions {
  // the server's base URL (http, https, ws or wss; a path prefix is kept)
  url: string;
  getToken: TokenSource;
  // resume point: replay every stored message after it (0, the default, replays the
  // conversation); null joins live without history
  lastSeq?: number | null;
  reconnect?: Partial<ReconnectOptions>;
  // heartbeat assumed until the server's ready says otherwise
  heartbeatMs?: number;
  // a connection attempt that has not reached ready by then is abandoned and retried
  connectTimeoutMs?: number;
  // ask for a fresh token this long before the current one expires (at most half its life)
  refreshBeforeMs?: number;
  // listeners attached before the first frame arrives, so no replayed message is missed
  on?: { [K in keyof ClientEvents]?: (value: ClientEvents[K]) => void };
  WebSocket?: SocketFactory;
  fetch?: typeof fetch;
  random?: () => number;
  // where the browser's `online` event comes from (default: window when present)
  onlineEvents?: { addEventListener(t: 'online', f: () => void): void; removeEventListener(t: 'online', f: () => void): void } | null;
}

export type CloseReason =
  | 'closed_by_client'
  | 'unauthorized' // 4401: bad or expired token, even after a fresh one
  | 'not_found' // 4404: no such conversation, or not yours
  | 'protocol_error' // 4400
  | 'retries_exhausted';

export interface CloseInfo {
  code: number;
  reason: string;
}

export type ConnectionState =
  | { status: 'idle' }
  | { status: 'connecting'; attempt: number }
  | { status: 'ready'; sessionId: string }
  | { status: 'reconnecting'; attempt: number; delayMs: number; retryAt: number; lastClose: CloseInfo }
  | { status: 'closed'; reason: CloseReason; message: string; lastClose?: CloseInfo };

export interface ReadyInfo {
  conversationId: string;
  userId: string;
  sessionId: string;
  lastSeq: number;
  activeRun: ActiveRun | null;
  heartbeatMs: number;
}

export interface ToolCall {
  runId: string;
  toolCallId: string;
  name: string;
  arguments: Record<string, unknown>;
  status: 'running' | 'succeeded' | 'failed' | 'denied';
  result?: unknown;
  error?: string;
  durationMs?: number;
  // set when the tool policy asks the conversation's owner first (approve()/deny())
  approval?: ToolApproval;
}

export interface ToolApproval {
  id: string;
  state: 'pending' | 'approved' | 'denied';
  reason?: 'user' | 'timeout' | 'policy' | 'cancelled';
  decidedBy?: string | null;
  expiresAt?: string;
}

export interface RunDetails {
  runId: string;
  agent?: string;
  thinking: { step: number; text: string }[];
  tools: ToolCall[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  cached?: boolean;
  failure?: { code: string; message: string };
}

export interface ChatMessage {
  // undefined while a sent message waits for its ack
  id: string | undefined;
  seq: number | undefined;
  role: string;
  // 'pending' (sent, not yet acked), else the stored status: streaming, complete,
  // cancelled, interrupted, failed
  status: string;
  content: string;
  clientMsgId: string | null;
  runId: string | null;
  userId: string | null;
  createdAt: string;
  run?: RunDetails;
}

export interface Ack {
  clientMsgId: string;
  messageId: string;
  seq: number;
  duplicate: boolean;
}

export interface ClientError {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
  // the message the server refused, when the error is about one
  clientMsgId?: string;
}

export interface ClientEvents {
  state: ConnectionState;
  ready: ReadyInfo;
  // a message was added or changed (replayed, live, acked, streamed, finished)
  message: ChatMessage;
  ack: Ack;
  'run.started': { runId: string; messageId: string; seq: number; agent: string };
  thinking: { runId: string; step: number; text: string };
  'tool.call': ToolCall;
  'tool.result': ToolCall;
  // a tool call waits for the owner's approval, or was decided
  'tool.approval': ToolCall;
  // only text not seen before: replays and overlaps are merged away
  delta: { runId: string; messageId: string; offset: number; text: string };
  completed: { runId: string; messageId: string; seq: number; content: string; cached: boolean };
  failed: { runId: string; messageId: string; code: string; message: string };
  typing: { sessionId: string; userId: string; state: 'start' | 'stop' };
  presence: SessionInfo[];
  error: ClientError;
  // the server could not replay from our resume point; the client reloads over REST
  resync: { reason: string };
}
