// Binds the conversation and message queries to the core's ConversationStore port.
import type { ConversationStore } from '../core/conversations.js';
import type { Db } from './client.js';
import {
  deleteConversation, findOwnedConversation, insertConversation, listConversations, renameConversation,
} from './conversations.js';
import { listMessagesAfter } from './messages.js';

export function conversationStore(db: Db): ConversationStore {
  return {
    insert: (userId, title, metadata) => insertConversation(db, userId, title, metadata),
    findOwned: (userId, id) => findOwnedConversation(db, userId, id),
    list: (userId, limit, before) => listConversations(db, userId, limit, before),
    rename: (userId, id, title) => renameConversation(db, userId, id, title),
    remove: (userId, id) => deleteConversation(db, userId, id),
    messagesAfter: (conversationId, afterSeq, limit) => listMessagesAfter(db, conversationId, afterSeq, limit),
  };
}
