// Binds the queries to the ports of the realtime core (gateway sessions and agent runs).
import type { GatewayStore } from '../core/gateway.js';
import type { RunStore } from '../core/runs.js';
import type { WireMessage } from '../protocol/frames.js';
import type { Db } from './client.js';
import { insertMessage, listMessagesAfter, type MessageRow } from './messages.js';
import {
  finishAnswer, finishToolCall, findOwnedForJoin, findStreamingAnswer, insertCheckpoint, insertToolCall, recentTurns,
  appendAnswerChunks, searchConversationMessages,
} from './runs.js';

export function wireMessage(m: MessageRow): WireMessage {
  return {
    id: m.id, seq: m.seq, role: m.role, status: m.status, content: m.content, client_msg_id: m.client_msg_id,
    run_id: m.run_id, user_id: m.user_id, created_at: m.created_at.toISOString(),
  };
}

export function gatewayStore(db: Db): GatewayStore {
  return {
    findOwned: async (userId, conv) => {
      const r = await findOwnedForJoin(db, userId, conv);
      return r && { id: r.id, last_seq: r.last_seq, streaming: r.streaming && wireMessage(r.streaming) };
    },
    messagesAfter: async (conv, after, limit) => (await listMessagesAfter(db, conv, after, limit)).map(wireMessage),
    insertUserMessage: async (conv, userId, clientMsgId, content) => {
      const out = await insertMessage(db, { conversationId: conv, role: 'user', content, clientMsgId, userId });
      return out.kind === 'no_conversation' ? undefined : { message: wireMessage(out.message), duplicate: out.kind === 'duplicate' };
    },
    streamingAnswer: async (conv) => {
      const m = await findStreamingAnswer(db, conv);
      return m && wireMessage(m);
    },
  };
}

export function runStore(db: Db, runnerId: bigint): RunStore {
  return {
    insertAnswer: async (conv, runId) => {
      const out = await insertMessage(db, { conversationId: conv, role: 'assistant', content: '', status: 'streaming', runId, runnerId });
      return out.kind === 'no_conversation' ? undefined : wireMessage(out.message);
    },
    appendChunks: (chunks) => appendAnswerChunks(db, chunks),
    finish: (id, content, status, metadata) => finishAnswer(db, id, content, status, metadata),
    checkpoint: (c) => insertCheckpoint(db, c),
    toolCall: (t) => insertToolCall(db, t),
    toolResult: (t) => finishToolCall(db, t),
    recentTurns: async (conv, limit) => (await recentTurns(db, conv, limit)) as { role: 'user' | 'assistant' | 'system' | 'tool'; content: string }[],
    search: async (conv, q, limit, beforeSeq) => (await searchConversationMessages(db, conv, q, limit, beforeSeq)).map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
  };
}
