// The search_conversation tool: full-text search over this conversation's earlier messages,
// through the port the run manager injects (the agent never touches the database).
import { z } from 'zod';
import { defineTool } from './tool.js';

export const searchConversationTool = defineTool({
  name: 'search_conversation',
  description: 'Search the earlier messages of this conversation for words or a phrase; returns matching messages, newest first, with their sequence numbers.',
  schema: z.object({
    query: z.string().trim().min(1).max(200).describe('Words or a phrase to look for'),
    limit: z.number().int().min(1).max(10).default(5).describe('How many messages to return (1-10)'),
  }),
  async execute({ query, limit }, ctx) {
    const hits = await ctx.searchConversation(query, limit);
    // The port promises at most `limit`; trimming keeps a misbehaving adapter from flooding the answer.
    return { query, hits: hits.slice(0, limit) };
  },
});
