// /api/v1/chat: the UI message stream protocol of Vercel's AI SDK, so a stock `useChat`
// with `new DefaultChatTransport({ api: '/api/v1/chat', headers })` talks to us directly.
// POST sends and streams; GET {api}/{chatId}/stream resumes (204 when nothing streams);
// DELETE on the same path stops the run wherever it runs.
import type { z } from 'zod';
import type { UiChat } from '../core/ui-chat.js';
import { ErrorJson, IdParams } from '../protocol/rest.js';
import { UiChatBody } from '../protocol/ui-chat.js';
import { route, type Route } from './route.js';

// The header AI SDK clients check to know they read a UI message stream.
export const UI_STREAM_HEADERS = { 'x-vercel-ai-ui-message-stream': 'v1' };

const notFound = { description: 'no such conversation, or not yours', schema: ErrorJson };
const invalid = { description: 'invalid body or parameters (the error names the field)', schema: ErrorJson };
const unauthorized = { description: 'missing or invalid bearer token', schema: ErrorJson };
const stream = { description: 'server-sent events, one UI message chunk per `data:` line; ids are `<answer seq>:<text offset>`' };

export function uiStreamRoutes(chat: UiChat): Route[] {
  const user = (u: string | undefined): string => u!; // auth: true guarantees it
  return [
    route<undefined, undefined, z.output<typeof UiChatBody>>({
      method: 'post', path: '/api/v1/chat', tag: 'ai-sdk', auth: true,
      summary: "Send the chat's last user message (stored once by its id) and stream the answer",
      body: UiChatBody,
      responses: { 200: stream, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => ({ status: 200, headers: UI_STREAM_HEADERS, stream: await chat.send(user(ctx.user), ctx.body) }),
    }),
    route<z.output<typeof IdParams>>({
      method: 'get', path: '/api/v1/chat/:id/stream', tag: 'ai-sdk', auth: true,
      summary: 'Resume the answer streaming in the conversation (the stored text, then live); Last-Event-ID continues from an event',
      params: IdParams,
      responses: { 200: stream, 204: { description: 'nothing is streaming' }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => {
        const s = await chat.resume(user(ctx.user), ctx.params.id, ctx.lastEventId || undefined);
        return s === undefined ? { status: 204 } : { status: 200, headers: UI_STREAM_HEADERS, stream: s };
      },
    }),
    route<z.output<typeof IdParams>>({
      method: 'delete', path: '/api/v1/chat/:id/stream', tag: 'ai-sdk', auth: true,
      summary: 'Stop the answer streaming in the conversation, on whichever replica runs it; returns once it is stored as cancelled',
      params: IdParams,
      responses: { 204: { description: 'stopped, or nothing was streaming' }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => {
        await chat.stop(user(ctx.user), ctx.params.id);
        return { status: 204 };
      },
    }),
  ];
}
