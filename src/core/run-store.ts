// What a run needs from storage: its answer row, checkpoints, tool calls, the history it
// answers and the conversation it searches. Bound to SQL in db/realtime-store.ts.
import type { ChatTurn, SearchHit } from './agent.js';
import type { ChunkStore } from './answer-writer.js';
import type { Message } from './message.js';

export type FinishStatus = 'complete' | 'cancelled' | 'interrupted' | 'failed';
// What an answer's row holds after its end: changed false when the row was no longer
// streaming (another replica, or our own lost-reply attempt, ended it); status and content
// as stored.
export interface StoredEnd { changed: boolean; status: string; content: string }

export interface Checkpoint { runId: string; conversationId: string; messageId: string; step: number; kind: string; state: Record<string, unknown> }
// The last one, written with the answer's end: its kind follows from what the end stored.
export type FinalCheckpoint = Omit<Checkpoint, 'messageId' | 'kind'>;

// A run's first and last checkpoints are written by the statements that start and end its
// answer, not by statements of their own: two commits fewer per answer.
export interface RunStore extends ChunkStore {
  // retry: an earlier call for this run may have stored the row and lost the reply (the
  // connection died after the commit); the row of that run, if any, is returned instead.
  // replyTo: the seq the run answers; undefined when that message has an answer already.
  // started: the state of the run's checkpoint 0 ('started'), stored with the row.
  insertAnswer(conv: string, runId: string, a: { retry?: boolean; replyTo?: number; started: Record<string, unknown> }): Promise<Message | undefined>;
  // changed=false: the row had already ended (another replica marked it); status and
  // content are then what is stored. last: the run's final checkpoint, stored with the
  // end (kind: the status, or lost_<stored status> when changed=false), once per step.
  finish(messageId: string, content: string, status: FinishStatus, metadata: Record<string, unknown>, last: FinalCheckpoint): Promise<StoredEnd>;
  checkpoint(c: Checkpoint): Promise<void>;
  toolCall(t: { id: string; runId: string; conversationId: string; messageId: string; name: string; arguments: Record<string, unknown> }): Promise<void>;
  toolResult(t: { id: string; status: 'succeeded' | 'failed' | 'denied'; result: unknown; error: string | null; durationMs: number }): Promise<void>;
  recentTurns(conv: string, limit: number): Promise<ChatTurn[]>;
  search(conv: string, query: string, limit: number, beforeSeq: number): Promise<SearchHit[]>;
}
