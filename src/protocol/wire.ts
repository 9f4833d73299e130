// The wire types of protocol v1, free of runtime dependencies: the client SDK package
// (packages/client) ships them; frames.ts validates incoming frames against the same
// shapes with zod and checks at compile time that the two agree.

// The codes of run.failed; errors.ts holds their catalog (checked to match at compile time).
export type RunFailureCode = 'cancelled' | 'interrupted' | 'failed' | 'llm_unreachable' | 'llm_unauthorized' | 'llm_rate_limited' | 'llm_bad_response' | 'llm_timeout';

export type WireClientFrame =
  | { type: 'auth'; token: string; user_id?: string | undefined; last_seq?: number | undefined }
  | { type: 'message'; client_msg_id: string; content: string }
  | { type: 'typing'; state: 'start' | 'stop' }
  | { type: 'ping'; id: string | number }
  | { type: 'pong'; id: string | number }
  | { type: 'cancel'; run_id: string }
  | { type: 'reauth'; token: string }
  | { type: 'approve'; approval_id: string }
  | { type: 'deny'; approval_id: string; reason?: string | undefined };

export interface WireMessage {
  id: string;
  seq: number;
  role: string;
  status: string;
  content: string;
  client_msg_id: string | null;
  run_id: string | null;
  user_id: string | null;
  created_at: string;
}

export interface ActiveRun {
  run_id: string;
  message_id: string;
  seq: number;
}

export interface SessionInfo {
  session_id: string;
  user_id: string;
}

export type ServerFrame =
  | { type: 'ready'; protocol: number; conversation_id: string; user_id: string; session_id: string; last_seq: number; active_run: ActiveRun | null; heartbeat_ms: number }
  | { type: 'message'; message: WireMessage }
  | { type: 'ack'; client_msg_id: string; message_id: string; seq: number; duplicate: boolean }
  | { type: 'run.started'; run_id: string; message_id: string; seq: number; agent: string }
  | { type: 'agent.thinking'; run_id: string; step: number; text: string }
  | { type: 'tool.call'; run_id: string; tool_call_id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'tool.result'; run_id: string; tool_call_id: string; status: 'succeeded' | 'failed' | 'denied'; result?: unknown; error?: string; duration_ms: number }
  | { type: 'tool.approval_request'; run_id: string; tool_call_id: string; approval_id: string; name: string; arguments: Record<string, unknown>; expires_at: string }
  | { type: 'tool.approval_result'; run_id: string; tool_call_id: string; approval_id: string; decision: 'approved' | 'denied'; reason: 'user' | 'timeout' | 'policy' | 'cancelled'; decided_by: string | null; decided_at: string; note?: string }
  | { type: 'response.delta'; run_id: string; message_id: string; offset: number; delta: string }
  | { type: 'run.snapshot'; run_id: string; message_id: string; seq: number; content: string; offset: number }
  | { type: 'response.completed'; run_id: string; message_id: string; seq: number; content: string; cached: boolean; usage: { prompt_tokens: number; completion_tokens: number } }
  // content, when present, is the answer as stored: it replaces what the deltas built
  | { type: 'run.failed'; run_id: string; message_id: string; code: RunFailureCode; message: string; content?: string }
  | { type: 'typing'; session_id: string; user_id: string; state: 'start' | 'stop' }
  | { type: 'presence'; sessions: SessionInfo[] }
  | { type: 'ping'; id: string; t: number }
  | { type: 'pong'; id: string | number }
  | { type: 'error'; code: string; message: string; issues?: { path: string; message: string }[]; client_msg_id?: string }
  | { type: 'resync'; reason: string };

export type ServerFrameType = ServerFrame['type'];
