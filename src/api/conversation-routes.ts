// /api/v1/conversations: the authenticated user's conversations and their messages.
import type { z } from 'zod';
import type { Conversation, ConversationService } from '../core/conversations.js';
import { messageJson } from '../core/message.js';
import {
  ConversationJson, ConversationPage, CreateConversationBody, ErrorJson, IdParams,
  ListConversationsQuery, ListMessagesQuery, MessagePage, RenameConversationBody,
} from '../protocol/rest.js';
import { byId, route, type Route } from './route.js';

export function conversationJson(c: Conversation): z.input<typeof ConversationJson> {
  return {
    id: c.id, title: c.title, metadata: c.metadata, last_seq: c.last_seq,
    created_at: c.created_at.toISOString(), updated_at: c.updated_at.toISOString(),
  };
}

const notFound = { description: 'no such conversation, or not yours', schema: ErrorJson };
const invalid = { description: 'invalid parameters, query or body (the error names the field)', schema: ErrorJson };
const unauthorized = { description: 'missing or invalid bearer token', schema: ErrorJson };

type Id = z.output<typeof IdParams>;

export function conversationRoutes(svc: ConversationService): Route[] {
  const user = (u: string | undefined): string => u!; // auth: true guarantees it
  return [
    route<undefined, undefined, z.output<typeof CreateConversationBody>>({
      method: 'post', path: '/api/v1/conversations', tag: 'conversations', auth: true,
      summary: 'Create a conversation owned by the caller',
      body: CreateConversationBody,
      responses: { 201: { description: 'created', schema: ConversationJson, links: byId('/api/v1/conversations/:id', ['get', 'patch', 'delete'], { messages: { method: 'get', path: '/api/v1/conversations/:id/messages', parameters: { id: '$response.body#/id' } } }) }, 400: invalid, 401: unauthorized },
      handler: async (ctx) => ({
        status: 201,
        body: conversationJson(await svc.create(user(ctx.user), ctx.body.title, ctx.body.metadata)),
      }),
    }),
    route<undefined, z.output<typeof ListConversationsQuery>>({
      method: 'get', path: '/api/v1/conversations', tag: 'conversations', auth: true,
      summary: "List the caller's conversations, newest first",
      query: ListConversationsQuery,
      responses: { 200: { description: 'a page', schema: ConversationPage }, 400: invalid, 401: unauthorized },
      handler: async (ctx) => {
        const page = await svc.list(user(ctx.user), ctx.query.limit, ctx.query.cursor);
        return { status: 200, body: { items: page.items.map(conversationJson), next_cursor: page.next_cursor } };
      },
    }),
    route<Id>({
      method: 'get', path: '/api/v1/conversations/:id', tag: 'conversations', auth: true,
      summary: 'Get one conversation',
      params: IdParams,
      responses: { 200: { description: 'the conversation', schema: ConversationJson }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => ({ status: 200, body: conversationJson(await svc.get(user(ctx.user), ctx.params.id)) }),
    }),
    route<Id, undefined, z.output<typeof RenameConversationBody>>({
      method: 'patch', path: '/api/v1/conversations/:id', tag: 'conversations', auth: true,
      summary: 'Rename a conversation',
      params: IdParams, body: RenameConversationBody,
      responses: { 200: { description: 'renamed', schema: ConversationJson }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => ({
        status: 200,
        body: conversationJson(await svc.rename(user(ctx.user), ctx.params.id, ctx.body.title)),
      }),
    }),
    route<Id>({
      method: 'delete', path: '/api/v1/conversations/:id', tag: 'conversations', auth: true,
      summary: 'Delete a conversation and everything in it: its messages, and the documents attached to it',
      params: IdParams,
      responses: { 204: { description: 'deleted' }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => {
        await svc.remove(user(ctx.user), ctx.params.id);
        return { status: 204 };
      },
    }),
    route<Id, z.output<typeof ListMessagesQuery>>({
      method: 'get', path: '/api/v1/conversations/:id/messages', tag: 'conversations', auth: true,
      summary: 'Messages of a conversation in seq order, after a given seq',
      params: IdParams, query: ListMessagesQuery,
      responses: { 200: { description: 'a page of messages', schema: MessagePage }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => {
        const page = await svc.messages(user(ctx.user), ctx.params.id, ctx.query.after_seq, ctx.query.limit);
        return { status: 200, body: { items: page.items.map(messageJson), has_more: page.has_more, last_seq: page.last_seq } };
      },
    }),
  ];
}
