// The search_documents tool: similarity search over the user's uploaded documents (those of
// this conversation and those attached to none). The search itself is injected at composition,
// so the tool stays free of the database and the embedder.
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './tool.js';

export interface DocumentSearchHit {
  document_id: string;
  title: string;
  snippet: string;
  score: number;
}

export type DocumentSearch = (userId: string, conversationId: string, query: string, limit: number) => Promise<DocumentSearchHit[]>;

const SNIPPET_CHARS = 600;

export const SearchDocumentsSchema = z.object({
  query: z.string().trim().min(1).max(300).describe('What to look for, in words likely to appear in the document'),
  limit: z.number().int().min(1).max(10).default(3).describe('How many documents to return (1-10)'),
});

export function searchDocumentsTool(search: DocumentSearch): ToolDefinition<'search_documents', typeof SearchDocumentsSchema> {
  return defineTool({
    name: 'search_documents',
    description: "Search the user's uploaded documents; returns the best-matching passage of each matching document with its title, best first. Cite the titles you use.",
    schema: SearchDocumentsSchema,
    async execute({ query, limit }, ctx) {
      const hits = await search(ctx.userId, ctx.conversationId, query, limit);
      return {
        query,
        hits: hits.slice(0, limit).map((h) => ({
          document_id: h.document_id, title: h.title, score: h.score,
          snippet: h.snippet.length > SNIPPET_CHARS ? `${h.snippet.slice(0, SNIPPET_CHARS)}…` : h.snippet,
        })),
      };
    },
  });
}
