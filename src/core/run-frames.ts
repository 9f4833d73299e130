// Frames that end an answer or a conversation for its clients, built here rather than where
// they are wired, so their codes come from the catalog (protocol/errors.ts) and every
// replica words them alike.
import type { RunFailureCode } from '../protocol/errors.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { Bus } from './bus.js';

export type RunFailedFrame = Extract<ServerFrame, { type: 'run.failed' }>;

// `content`, when given, is the answer as stored: it replaces what the client built from deltas.
export function runFailed(run: { runId: string; messageId: string }, code: RunFailureCode, message: string, content?: string): RunFailedFrame {
  return { type: 'run.failed', run_id: run.runId, message_id: run.messageId, code, message, ...(content === undefined ? {} : { content }) };
}

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
