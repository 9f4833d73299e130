import { describe, it, expect } from 'vitest';
import type { AgentContext, SearchHit } from '../../core/agent.js';
import { searchConversationTool } from './search.js';

const hit = (seq: number, snippet: string): SearchHit => ({ message_id: `m${seq}`, seq, role: 'user', snippet, created_at: '2025-01-01T00:00:00.000Z' });

// The search port is the seam to the database (tested with the DB elsewhere); a fake is the real
// contract here.
function ctxWith(hits: SearchHit[], calls: [string, number][]): AgentContext {
  return {
    conversationId: 'c', userId: 'u', runId: 'r', signal: new AbortController().signal, now: () => new Date(0),
    searchConversation: async (q, limit) => { calls.push([q, limit]); return hits; },
  };
}

describe('search_conversation tool', () => {
  it('passes the query and limit to the port and returns its hits', async () => {
    const calls: [string, number][] = [];
    const hits = [hit(7, 'pizza on friday'), hit(3, 'I like pizza')];
    const r = await searchConversationTool.execute({ query: 'pizza', limit: 3 }, ctxWith(hits, calls));
    expect(calls).toEqual([['pizza', 3]]);
    expect(r).toEqual({ query: 'pizza', hits });
  });

  it('applies the default limit of 5 through its schema', () => {
    expect(searchConversationTool.schema.parse({ query: 'x' })).toEqual({ query: 'x', limit: 5 });
  });

  it('never returns more hits than asked for, whatever the port does', async () => {
    const many = Array.from({ length: 8 }, (_, i) => hit(i + 1, `hit ${i}`));
    const r = await searchConversationTool.execute({ query: 'hit', limit: 2 }, ctxWith(many, []));
    expect((r as { hits: SearchHit[] }).hits.map((h) => h.seq)).toEqual([1, 2]);
  });

  it.each([
    [{ query: '' }, 'query'],
    [{ query: '   ' }, 'query'],
    [{ query: 'x', limit: 0 }, 'limit'],
    [{ query: 'x', limit: 11 }, 'limit'],
    [{ query: 'x', limit: 2.5 }, 'limit'],
    [{}, 'query'],
  ])('rejects %j', (args, field) => {
    const r = searchConversationTool.schema.safeParse(args);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([field]);
  });
});
