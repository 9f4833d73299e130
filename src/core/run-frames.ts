// Frames that end an answer or a conversation for its clients, built here rather than where
// they are wired, so their codes come from the catalog (protocol/errors.ts) and every
// replica words them alike.
import type { RunFailureCode } from '../protocol/errors.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { AgentFailureCode } from './agent.js';
import type { Bus } from './bus.js';
import type { FinishStatus, StoredEnd } from './run-store.js';

export type RunFailedFrame = Extract<ServerFrame, { type: 'run.failed' }>;

// `content`, when given, is the answer as stored: it replaces what the client built from deltas.
export function runFailed(run: { runId: string; messageId: string }, code: RunFailureCode, message: string, content?: string): RunFailedFrame {
  return { type: 'run.failed', run_id: run.runId, message_id: run.messageId, code, message, ...(content === undefined ? {} : { content }) };
}

// The frame that ends an answer, after its end was stored. The terminal frame follows the
// row: when the row had already ended (stored.changed false), clients get what is stored,
// status and all. The stored text goes with every failure: a client that joined while the
// end waited out a database outage got the row as it stood (the text saved before the
// outage) and no snapshot, since the run was over; without the text it would keep that
// shorter copy.
// How a run ended, as the run saw it.
export interface RunEnd {
  usage: { prompt_tokens: number; completion_tokens: number };
  cached: boolean;
  failure: { code: AgentFailureCode; message: string } | undefined;
}

export function endFrame(run: { runId: string; messageId: string; seq: number; content: string }, status: FinishStatus, stored: StoredEnd, end: RunEnd): ServerFrame {
  const completed = (content: string): ServerFrame => ({ type: 'response.completed', run_id: run.runId, message_id: run.messageId, seq: run.seq, content, cached: end.cached, usage: end.usage });
  if (!stored.changed) {
    if (stored.status === 'complete') return completed(stored.content);
    // 'deleted' (the conversation went meanwhile) has no code of its own: the run did not finish.
    const code = stored.status === 'cancelled' || stored.status === 'failed' ? stored.status : 'interrupted';
    return runFailed(run, code, code === 'interrupted' ? 'the answer was marked interrupted while this server had lost its database connection; content is what was kept' : `the answer had already ended as ${code}; content is what was kept`, stored.content);
  }
  if (status === 'complete') return completed(run.content);
  if (status === 'failed' && end.failure) return runFailed(run, end.failure.code, `${end.failure.message}; the partial answer was kept`, run.content);
  return runFailed(run, status, END_MESSAGES[status], run.content);
}

const END_MESSAGES = {
  cancelled: 'cancelled by the user; the partial answer was kept',
  interrupted: 'the server is restarting; the partial answer was kept',
  failed: 'the agent failed; the partial answer was kept',
} as const;

// An answer left streaming by a server that stopped (crashed, or lost its runner lock),
// found by a sweep: its clients learn it ended, with the text that was kept.
export interface InterruptedAnswer {
  id: string;
  conversation_id: string;
  run_id: string;
  content: string;
}

export function publishInterrupted(bus: Pick<Bus, 'publish'>, answers: InterruptedAnswer[]): void {
  for (const a of answers) {
    bus.publish({ kind: 'frame', conv: a.conversation_id, frame: runFailed({ runId: a.run_id, messageId: a.id }, 'interrupted', 'the server running this answer stopped; the partial answer was kept', a.content) });
  }
}

// A deleted conversation: its sockets (on every replica) are told, then closed 4404.
export function publishConversationDeleted(bus: Pick<Bus, 'publish'>, conv: string): void {
  bus.publish({ kind: 'frame', conv, frame: { type: 'resync', reason: 'conversation_deleted' } });
}
