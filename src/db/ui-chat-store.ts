// Binds the queries to the port of the UI message stream endpoints (core/ui-chat).
import type { UiChatStore } from '../core/ui-chat.js';
import type { Db } from './client.js';
import { insertMessage } from './messages.js';
import { wireMessage } from './realtime-store.js';
import { findOwnedForJoin, findStreamingAnswer } from './runs.js';
import { findAnswerAfter, findMessage, findMessageBySeq, toolCallsOfMessage } from './ui-chat.js';

export function uiChatStore(db: Db): UiChatStore {
  return {
    findOwned: async (userId, conv) => {
      const r = await findOwnedForJoin(db, userId, conv);
      return r && { id: r.id, last_seq: r.last_seq, streaming: r.streaming && wireMessage(r.streaming) };
    },
    insertUserMessage: async (conv, userId, clientMsgId, content, uiMessageId) => {
      const out = await insertMessage(db, { conversationId: conv, role: 'user', content, clientMsgId, userId, metadata: { ui_message_id: uiMessageId } });
      return out.kind === 'no_conversation' ? undefined : { message: wireMessage(out.message), duplicate: out.kind === 'duplicate' };
    },
    message: async (conv, id) => {
      const m = await findMessage(db, conv, id);
      return m && wireMessage(m);
    },
    messageBySeq: async (conv, seq) => {
      const m = await findMessageBySeq(db, conv, seq);
      return m && wireMessage(m);
    },
    answerAfter: async (conv, seq) => {
      const m = await findAnswerAfter(db, conv, seq);
      return m && wireMessage(m);
    },
    streamingAnswer: async (conv) => {
      const m = await findStreamingAnswer(db, conv);
      return m && wireMessage(m);
    },
    toolCalls: async (messageId) => (await toolCallsOfMessage(db, messageId)).map((t) => ({
      toolCallId: t.id,
      name: t.name,
      input: t.arguments,
      ...(t.approval_id !== null && t.approval !== null ? { approvalId: t.approval_id, approval: t.approval } : {}),
      ...(t.status === 'succeeded' || t.status === 'failed' || t.status === 'denied'
        ? { output: { status: t.status, result: t.result, ...(t.error !== null ? { error: t.error } : {}) } }
        : {}),
    })),
  };
}
