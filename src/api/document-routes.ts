// /api/v1/documents: the caller's text and markdown documents, chunked and embedded on upload,
// and similarity search over them. Another user's document answers like a missing one (404).
import { z } from 'zod';
import type { DocumentService } from '../agent/embeddings/document-service.js';
import type { Document, DocumentHit } from '../core/documents.js';
import { Cursor, ErrorJson, IdParams, text, Uuid } from '../protocol/rest.js';
import { hasLoneSurrogate, hasNul, NOT_BLANK_NO_NUL } from '../protocol/text.js';
import { byId, route, type Route } from './route.js';

export const CreateDocumentBody = z.strictObject({
  title: text(300),
  // Not trimmed: the document is kept exactly as sent.
  content: z.string().regex(NOT_BLANK_NO_NUL, { error: (iss) => (hasNul(String(iss.input)) ? 'must not contain NUL characters' : 'must contain text') })
    .refine((v) => !hasLoneSurrogate(v), 'must not contain unpaired UTF-16 surrogates (not valid Unicode)')
    .describe('the text; size limit DOCUMENT_MAX_BYTES'),
  content_type: z.enum(['text/plain', 'text/markdown']).default('text/plain'),
  conversation_id: Uuid.optional().describe('attach to one of your conversations; its runs search it along with unattached documents'),
});

export const ListDocumentsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('page size, newest first, 1-200'),
  cursor: Cursor.optional(),
  conversation_id: Uuid.optional().describe('only the documents attached to this conversation'),
});

export const SearchDocumentsQuery = z.strictObject({
  q: text(500),
  limit: z.coerce.number().int().min(1).max(20).default(5),
  conversation_id: Uuid.optional().describe('search this conversation\'s documents and unattached ones; default: all of yours'),
});

export const DocumentJson = z.object({
  id: Uuid,
  title: z.string(),
  content_type: z.enum(['text/plain', 'text/markdown']),
  conversation_id: Uuid.nullable(),
  size_bytes: z.number().int(),
  chunk_count: z.number().int(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  content: z.string().optional().describe('only when fetching one document'),
});

export const DocumentHitsJson = z.object({
  query: z.string(),
  hits: z.array(z.object({ document_id: Uuid, title: z.string(), chunk_index: z.number().int(), snippet: z.string(), score: z.number() })),
});

function documentJson(d: Document & { content?: string }) {
  return {
    id: d.id, title: d.title, content_type: d.content_type, conversation_id: d.conversation_id, size_bytes: d.size_bytes,
    chunk_count: d.chunk_count, created_at: d.created_at.toISOString(), updated_at: d.updated_at.toISOString(),
    ...(d.content !== undefined ? { content: d.content } : {}),
  };
}

const invalid = { description: 'invalid parameters, query or body (the error names the field)', schema: ErrorJson };
const unauthorized = { description: 'missing or invalid bearer token', schema: ErrorJson };
const notFound = { description: 'no such document, or not yours', schema: ErrorJson };

type Id = z.output<typeof IdParams>;

export function documentRoutes(svc: DocumentService): Route[] {
  const user = (u: string | undefined): string => u!; // auth: true guarantees it
  return [
    route<undefined, undefined, z.output<typeof CreateDocumentBody>>({
      method: 'post', path: '/api/v1/documents', tag: 'documents', auth: true,
      summary: 'Store a text or markdown document, chunked and embedded for search',
      body: CreateDocumentBody,
      responses: {
        201: { description: 'stored', schema: DocumentJson, links: byId('/api/v1/documents/:id', ['get', 'delete']) }, 400: invalid, 401: unauthorized,
        404: { description: 'conversation_id is not one of your conversations', schema: ErrorJson },
        413: { description: 'content larger than DOCUMENT_MAX_BYTES', schema: ErrorJson },
        503: { description: 'the embeddings server failed; nothing was stored', schema: ErrorJson },
      },
      handler: async (ctx) => ({ status: 201, body: documentJson(await svc.create(user(ctx.user), ctx.body)) }),
    }),
    route<undefined, z.output<typeof ListDocumentsQuery>>({
      method: 'get', path: '/api/v1/documents', tag: 'documents', auth: true,
      summary: "List the caller's documents, newest first",
      query: ListDocumentsQuery,
      responses: {
        200: { description: 'a page of documents', schema: z.object({ items: z.array(DocumentJson), next_cursor: z.string().nullable().describe('pass as ?cursor= for the next (older) page; null on the last') }) },
        400: invalid, 401: unauthorized,
      },
      handler: async (ctx) => {
        const page = await svc.list(user(ctx.user), ctx.query.limit, ctx.query.cursor, ctx.query.conversation_id);
        return { status: 200, body: { items: page.items.map(documentJson), next_cursor: page.next_cursor } };
      },
    }),
    route<undefined, z.output<typeof SearchDocumentsQuery>>({
      method: 'get', path: '/api/v1/documents/search', tag: 'documents', auth: true,
      summary: "Similarity search over the caller's documents: the best passage of each, best first",
      query: SearchDocumentsQuery,
      responses: { 200: { description: 'hits', schema: DocumentHitsJson }, 400: invalid, 401: unauthorized },
      handler: async (ctx) => {
        const hits: DocumentHit[] = await svc.search(user(ctx.user), ctx.query.q, ctx.query.limit, ctx.query.conversation_id);
        return { status: 200, body: { query: ctx.query.q, hits } };
      },
    }),
    route<Id>({
      method: 'get', path: '/api/v1/documents/:id', tag: 'documents', auth: true,
      summary: 'Get one document with its content',
      params: IdParams,
      responses: { 200: { description: 'the document', schema: DocumentJson }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => ({ status: 200, body: documentJson(await svc.get(user(ctx.user), ctx.params.id)) }),
    }),
    route<Id>({
      method: 'delete', path: '/api/v1/documents/:id', tag: 'documents', auth: true,
      summary: 'Delete a document and its embeddings (deleting its conversation deletes it too)',
      params: IdParams,
      responses: { 204: { description: 'deleted' }, 400: invalid, 401: unauthorized, 404: notFound },
      handler: async (ctx) => {
        await svc.remove(user(ctx.user), ctx.params.id);
        return { status: 204 };
      },
    }),
  ];
}
