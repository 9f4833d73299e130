// The contract between the run manager (core/runs) and an agent. An agent turns the
// conversation so far into a stream of events; the run manager persists them
// (agent_checkpoints, tool_calls, messages) and fans them out to sockets. Agents never
// touch the database or sockets themselves: what they need comes in through AgentContext.
// Core defines it; src/agent/ implements it.
import type { RunFailureCode } from '../protocol/errors.js';

export interface ChatTurn {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
}

export interface SearchHit {
  message_id: string;
  seq: number;
  role: string;
  snippet: string;
  created_at: string;
}

export interface AgentContext {
  conversationId: string;
  userId: string;
  runId: string;
  // Full-text search over this conversation's stored messages (newest first).
  searchConversation(query: string, limit: number): Promise<SearchHit[]>;
  now(): Date;
  // Aborted on cancel, server shutdown or deadline; agents must stop promptly.
  signal: AbortSignal;
  // The approval gate (tool policy): agents await it before running a tool. Absent: run freely.
  approveTool?(call: { id: string; name: string; arguments: Record<string, unknown> }): Promise<ToolDecision>;
  // A chunk of the answer handed over at once instead of yielded as a delta event: an
  // answer is hundreds of chunks, and each yield is a promise hop on both sides. false:
  // not taken (the run has something to store first), yield the delta instead. Called
  // only between yields, so it keeps its place among the events.
  delta?(text: string): boolean;
}

export type ToolDecision = { approved: true } | { approved: false; message: string };

export type AgentEvent =
  // reasoning shown to the user as it forms; `step` increments per reasoning step
  | { type: 'thinking'; step: number; text: string }
  | { type: 'tool_call'; id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'tool_result'; id: string; status: 'succeeded' | 'failed' | 'denied'; result?: unknown; error?: string; duration_ms: number }
  // a chunk of the answer; chunks concatenate to the full answer
  | { type: 'delta'; text: string }
  // token counts for the whole run; cached: every model call was answered from the response cache
  | { type: 'usage'; prompt_tokens: number; completion_tokens: number; cached?: boolean };

// A failure the agent has classified (e.g. the model server is unreachable). The run manager
// ends the run as failed with this code and message in run.failed and keeps the partial answer;
// the message is shown to the user, so it must never hold credentials or request bodies.
// The run.failed codes an agent may end a run with; cancelled and interrupted are the run
// manager's own.
export type AgentFailureCode = Exclude<RunFailureCode, 'cancelled' | 'interrupted'>;

export class AgentFailure extends Error {
  constructor(readonly code: AgentFailureCode, message: string, opts?: { cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgentFailure';
  }
}

export interface Agent {
  readonly name: string;
  run(history: ChatTurn[], ctx: AgentContext): AsyncIterable<AgentEvent>;
}
