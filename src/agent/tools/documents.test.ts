// search_documents: the tool itself, how the built-in planner recognises a question about the
// user's documents, and how the answer cites the titles.
import { describe, expect, it } from 'vitest';
import { BuiltinAgent } from '../builtin.js';
import { planToolCalls } from '../planner.js';
import type { AgentContext, AgentEvent } from '../../core/agent.js';
import { searchDocumentsTool, type DocumentSearch } from './documents.js';
import { builtinTools, runTool, toolSpecs } from './registry.js';

const ctx = (): AgentContext => ({
  conversationId: 'conv-1', userId: 'alice', runId: 'r', signal: new AbortController().signal, now: () => new Date(), searchConversation: async () => [],
});

const hits = [
  { document_id: 'd1', title: 'Router manual', snippet: 'Hold the reset button for ten seconds.', score: 0.41 },
  { document_id: 'd2', title: 'Wi-Fi notes', snippet: 'The key is on the label.', score: 0.12 },
];

describe('search_documents tool', () => {
  it('searches as the run\'s user and conversation, and trims to the limit', async () => {
    const seen: unknown[] = [];
    const search: DocumentSearch = async (...args) => { seen.push(args); return hits; };
    const out = await runTool('search_documents', { query: ' reset router ', limit: 1 }, ctx(), [searchDocumentsTool(search)]);
    expect(out).toMatchObject({ status: 'succeeded', result: { query: 'reset router', hits: [hits[0]] } });
    expect(seen).toEqual([['alice', 'conv-1', 'reset router', 1]]);
  });

  it('rejects a bad query with the field named, without searching', async () => {
    let called = false;
    const out = await runTool('search_documents', { query: '  ' }, ctx(), [searchDocumentsTool(async () => { called = true; return []; })]);
    expect(out.status).toBe('failed');
    expect(out.error).toMatch(/^invalid arguments for search_documents: query: /);
    expect(called).toBe(false);
  });

  it('advertises a JSON schema for model providers', () => {
    const spec = toolSpecs([searchDocumentsTool(async () => [])])[0]!;
    expect(spec.name).toBe('search_documents');
    expect(spec.parameters).toMatchObject({ type: 'object', required: ['query'] });
  });
});

describe('built-in planner', () => {
  it.each([
    ['search my documents for router reset', 'router reset'],
    ['What do my notes say about sourdough starters?', 'sourdough starters'],
    ['How do I reset the router, according to my documents?', 'How do I reset the router'],
    ['look through my files for tax deadlines', 'tax deadlines'],
  ])('%s → search_documents “%s”', (message, query) => {
    expect(planToolCalls(message)).toEqual([{ tool: 'search_documents', arguments: { query } }]);
  });

  it('leaves other questions alone', () => {
    expect(planToolCalls('what did I say about pizza?')[0]?.tool).toBe('search_conversation');
    expect(planToolCalls('what is 2+2')[0]?.tool).toBe('calculator');
  });
});

describe('built-in agent answer', () => {
  it('cites the titles of the documents it used', async () => {
    const agent = new BuiltinAgent({ tokenDelayMs: 0, tools: [...builtinTools, searchDocumentsTool(async () => hits)] });
    const events: AgentEvent[] = [];
    for await (const ev of agent.run([{ role: 'user', content: 'search my documents for router reset' }], ctx())) events.push(ev);
    const answer = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    expect(answer).toContain('From your documents (“Router manual”, “Wi-Fi notes”)');
    expect(answer).toContain('- “Router manual”: Hold the reset button for ten seconds.');
  });

  it('says so when nothing matches', async () => {
    const agent = new BuiltinAgent({ tokenDelayMs: 0, tools: [...builtinTools, searchDocumentsTool(async () => [])] });
    const events: AgentEvent[] = [];
    for await (const ev of agent.run([{ role: 'user', content: 'search my notes for unicorns' }], ctx())) events.push(ev);
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('None of your documents matches “unicorns”.');
  });
});
