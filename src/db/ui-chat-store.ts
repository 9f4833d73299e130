// Binds the queries to the port of the UI message stream endpoints (core/ui-chat).
import type { UiChatStore } from '../core/ui-chat.js';
import type { Db } from './client.js';
import { insertMessage } from './messages.js';
import { findAnswerAfter, findMessage, findMessageBySeq, findOwnedForJoin, findStreamingAnswer } from './message-reads.js';
import { toolCallsOfMessage } from './tool-calls.js';

export function uiChatStore(db: Db): UiChatStore {
  return {
    findOwned: (userId, conv) => findOwnedForJoin(db, userId, conv),
    insertUserMessage: async (conv, userId, clientMsgId, content, uiMessageId) => {
      const out = await insertMessage(db, { conversationId: conv, role: 'user', content, clientMsgId, userId, metadata: { ui_message_id: uiMessageId } });
      return out.kind === 'no_conversation' ? undefined : { message: out.message, duplicate: out.kind === 'duplicate' };
    },
    message: (conv, id) => findMessage(db, conv, id),
    messageBySeq: (conv, seq) => findMessageBySeq(db, conv, seq),
    answerAfter: (conv, seq) => findAnswerAfter(db, conv, seq),
    streamingAnswer: (conv) => findStreamingAnswer(db, conv),
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
