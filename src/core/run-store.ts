// What a run needs from storage: its answer row, checkpoints, tool calls, the history it
// answers and the conversation it searches. Bound to SQL in db/realtime-store.ts.
import type { ChatTurn, SearchHit } from './agent.js';
import type { ChunkStore } from './answer-writer.js';
import type { Message } from './message.js';

export type FinishStatus = 'complete' | 'cancelled' | 'interrupted' | 'failed';

export interface RunStore extends ChunkStore {
  // retry: an earlier call for this run may have stored the row and lost the reply (the
  // connection died after the commit); the row of that run, if any, is returned instead.
  // replyTo: the seq the run answers; undefined when that message has an answer already.
  insertAnswer(conv: string, runId: string, retry?: boolean, replyTo?: number): Promise<Message | undefined>;
  // changed=false: the row had already ended (another replica marked it); status and
  // content are then what is stored.
  finish(messageId: string, content: string, status: FinishStatus, metadata: Record<string, unknown>): Promise<{ changed: boolean; status: string; content: string }>;
  checkpoint(c: { runId: string; conversationId: string; messageId: string; step: number; kind: string; state: Record<string, unknown> }): Promise<void>;
  toolCall(t: { id: string; runId: string; conversationId: string; messageId: string; name: string; arguments: Record<string, unknown> }): Promise<void>;
  toolResult(t: { id: string; status: 'succeeded' | 'failed' | 'denied'; result: unknown; error: string | null; durationMs: number }): Promise<void>;
  recentTurns(conv: string, limit: number): Promise<ChatTurn[]>;
  search(conv: string, query: string, limit: number, beforeSeq: number): Promise<SearchHit[]>;
}
