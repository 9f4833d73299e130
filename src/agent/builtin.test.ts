import { describe, it, expect } from 'vitest';
import { BuiltinAgent } from './builtin.js';
import { createAgent } from './index.js';
import { searchDocumentsTool } from './tools/documents.js';
import { builtinTools } from './tools/registry.js';
import type { AgentContext, AgentEvent, ChatTurn, SearchHit } from '../core/agent.js';

const NOW = new Date('2025-01-02T03:04:05Z');

interface Fake { ctx: AgentContext; controller: AbortController; searches: [string, number][] }

// searchConversation is the injected database port; faking it here is the contract, not our code.
function fake(hits: SearchHit[] | (() => Promise<SearchHit[]>) = []): Fake {
  const controller = new AbortController();
  const searches: [string, number][] = [];
  const ctx: AgentContext = {
    conversationId: '00000000-0000-4000-8000-000000000001', userId: 'alice', runId: '00000000-0000-4000-8000-000000000002',
    signal: controller.signal, now: () => NOW,
    searchConversation: async (q, limit) => {
      searches.push([q, limit]);
      return typeof hits === 'function' ? hits() : hits;
    },
  };
  return { ctx, controller, searches };
}

const user = (content: string): ChatTurn[] => [{ role: 'user', content }];

async function collect(agent: BuiltinAgent, history: ChatTurn[], ctx: AgentContext): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const ev of agent.run(history, ctx)) out.push(ev);
  return out;
}

// Event types in order with repeated thinking/delta runs folded, e.g. thinking, tool_call, ….
const shape = (events: AgentEvent[]): string[] =>
  events.map((e) => e.type).filter((t, i, all) => !(i > 0 && t === all[i - 1] && (t === 'thinking' || t === 'delta')));

const answerOf = (events: AgentEvent[]): string =>
  events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');

const of = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) =>
  events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

function expectWellFormed(events: AgentEvent[]): void {
  const steps = of(events, 'thinking').map((e) => e.step);
  expect(steps[0]).toBe(1);
  for (let i = 1; i < steps.length; i++) expect(steps[i]! - steps[i - 1]!).toBeGreaterThanOrEqual(0);
  expect(new Set(steps).size).toBe(steps.at(-1));
  expect(of(events, 'usage')).toHaveLength(1);
  expect(events.at(-1)!.type).toBe('usage');
  const calls = of(events, 'tool_call');
  const results = of(events, 'tool_result');
  expect(results.map((r) => r.id)).toEqual(calls.map((c) => c.id));
  for (const c of calls) expect(c.id).toMatch(/^call_[0-9a-f]{16}$/);
  expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
  for (const d of of(events, 'delta')) expect(d.text).toMatch(/^\s*\S+\s*$/);
}

const agent = new BuiltinAgent({ tokenDelayMs: 0 });

describe('BuiltinAgent: one tool', () => {
  it('answers arithmetic with the calculator', async () => {
    const { ctx } = fake();
    const events = await collect(agent, user('what is 2*(3+4)?'), ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'tool_call', 'tool_result', 'delta', 'usage']);
    expect(of(events, 'tool_call')[0]).toMatchObject({ name: 'calculator', arguments: { expression: '2*(3+4)' } });
    expect(of(events, 'tool_result')[0]).toMatchObject({ status: 'succeeded', result: { value: 14, text: '14' } });
    expect(answerOf(events)).toBe('2*(3+4) = 14');
    const thinking = of(events, 'thinking');
    expect(thinking.length).toBeGreaterThan(2);
    expect(thinking.filter((t) => t.step === 2).map((t) => t.text).join('')).toBe('The user asks for a calculation; I will use the calculator tool on 2*(3+4).');
  });

  it('answers percentages', async () => {
    const events = await collect(agent, user('calculate 17% of 240'), fake().ctx);
    expect(of(events, 'tool_call')[0]!.arguments).toEqual({ expression: '17/100*240' });
    expect(answerOf(events)).toBe('17% of 240 = 40.8');
  });

  it('answers a time question with the clock and ctx.now()', async () => {
    const events = await collect(agent, user("what's the date in Tokyo?"), fake().ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'tool_call', 'tool_result', 'delta', 'usage']);
    expect(of(events, 'tool_call')[0]).toMatchObject({ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } });
    expect(answerOf(events)).toBe('The current time in Asia/Tokyo is Thursday, January 2, 2025 at 12:04:05 PM GMT+9 (2025-01-02T12:04:05.000+09:00).');
  });

  it('uses UTC when no place is named, and says so for a place it does not know', async () => {
    const plain = await collect(agent, user('what time is it'), fake().ctx);
    expect(of(plain, 'tool_call')[0]!.arguments).toEqual({});
    expect(answerOf(plain)).toBe('The current time (UTC) is Thursday, January 2, 2025 at 3:04:05 AM UTC (2025-01-02T03:04:05.000Z).');
    const unknown = await collect(agent, user('what time is it in Springfield?'), fake().ctx);
    expect(answerOf(unknown)).toMatch(/^I don't know the time zone of Springfield, so here is UTC\. The current time \(UTC\) is /);
  });

  it('searches the conversation and cites hits by seq', async () => {
    const hits: SearchHit[] = [
      { message_id: 'a', seq: 12, role: 'user', snippet: 'pizza with olives on Friday', created_at: '2025-01-01T10:00:00Z' },
      { message_id: 'b', seq: 4, role: 'assistant', snippet: 'Noted:\n  you like pizza', created_at: '2025-01-01T09:00:00Z' },
    ];
    const { ctx, searches } = fake(hits);
    const events = await collect(agent, user('what did I say about pizza?'), ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'tool_call', 'tool_result', 'delta', 'usage']);
    expect(searches).toEqual([['pizza', 5]]);
    expect(of(events, 'tool_call')[0]).toMatchObject({ name: 'search_conversation', arguments: { query: 'pizza' } });
    expect(of(events, 'tool_result')[0]).toMatchObject({ status: 'succeeded', result: { query: 'pizza', hits } });
    expect(answerOf(events)).toBe('I found 2 earlier messages mentioning “pizza”:\n- #12 (user): pizza with olives on Friday\n- #4 (assistant): Noted: you like pizza');
  });

  it('does not quote the question back as a search hit', async () => {
    const q = 'did we talk about pizza';
    const hits: SearchHit[] = [
      { message_id: 'q', seq: 9, role: 'user', snippet: q, created_at: '2025-01-01T10:00:00Z' },
      { message_id: 'a', seq: 3, role: 'user', snippet: 'I love pizza', created_at: '2025-01-01T09:00:00Z' },
    ];
    const events = await collect(agent, user(q), fake(hits).ctx);
    expect(answerOf(events)).toBe('I found one earlier message mentioning “pizza”:\n- #3 (user): I love pizza');
    const none = await collect(agent, user(q), fake(hits.slice(0, 1)).ctx);
    expect(answerOf(none)).toBe('I found no earlier messages mentioning “pizza” in this conversation.');
  });

  it('answers without tools when none fits, restating the request', async () => {
    const events = await collect(agent, user('Tell me a  joke about\ncats'), fake().ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'delta', 'usage']);
    const answer = answerOf(events);
    expect(answer).toMatch(/^You asked: “Tell me a joke about cats”\. I'm the built-in offline agent/);
    expect(answer).toContain('calculator');
    expect(answer).toContain('time zone');
    expect(answer).toContain('search over this conversation');
    expect(new Set(of(events, 'thinking').map((t) => t.step))).toEqual(new Set([1, 2]));
  });

  it('names the same tools in its thinking and its answer: the ones it has', async () => {
    const withDocs = new BuiltinAgent({ tokenDelayMs: 0, tools: [...builtinTools, searchDocumentsTool(async () => [])] });
    const blurbs = { calculator: 'a calculator', current_time: 'a clock', search_conversation: 'a search over this conversation', search_documents: 'a search over your uploaded documents' };
    for (const [a, count] of [[agent, 'three'], [withDocs, 'four']] as const) {
      const events = await collect(a, user('Tell me a joke'), fake().ctx);
      const thinking = of(events, 'thinking').map((t) => t.text).join('');
      const answer = answerOf(events);
      expect(answer).toContain(`I have ${count} tools`);
      for (const [name, blurb] of Object.entries(blurbs)) expect(thinking.includes(name), name).toBe(answer.includes(blurb));
    }
  });

  it('greets back, and copes with a history without a user turn', async () => {
    expect(answerOf(await collect(agent, user('hello!'), fake().ctx))).toMatch(/^Hello! You asked: “hello!”\./);
    const empty = await collect(agent, [{ role: 'system', content: 'be nice' }], fake().ctx);
    expectWellFormed(empty);
    expect(answerOf(empty)).toMatch(/^I didn't receive a message to answer\./);
  });

  it('answers the last user turn, not earlier ones', async () => {
    const history: ChatTurn[] = [
      { role: 'user', content: 'what is 1+1' },
      { role: 'assistant', content: '1+1 = 2' },
      { role: 'user', content: 'and what is 5*5?' },
      { role: 'assistant', content: '' },
    ];
    const events = await collect(agent, history, fake().ctx);
    expect(answerOf(events)).toBe('5*5 = 25');
  });
});

describe('BuiltinAgent: several tools and failures', () => {
  it('runs several tools in the order asked', async () => {
    const { ctx } = fake([{ message_id: 'x', seq: 2, role: 'user', snippet: 'the cat is called Tom', created_at: '2025-01-01T00:00:00Z' }]);
    const events = await collect(agent, user('what is 6*7 and what time is it in Paris? also search for cat'), ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'delta', 'usage']);
    expect(of(events, 'tool_call').map((c) => [c.name, c.arguments])).toEqual([
      ['calculator', { expression: '6*7' }],
      ['current_time', { timezone: 'Europe/Paris' }],
      ['search_conversation', { query: 'cat' }],
    ]);
    expect(new Set(of(events, 'thinking').map((t) => t.step))).toEqual(new Set([1, 2, 3, 4]));
    expect(answerOf(events)).toBe([
      '6*7 = 42',
      'The current time in Europe/Paris is Thursday, January 2, 2025 at 4:04:05 AM GMT+1 (2025-01-02T04:04:05.000+01:00).',
      'I found one earlier message mentioning “cat”:\n- #2 (user): the cat is called Tom',
    ].join('\n\n'));
  });

  it('reports a failing calculation in a failed tool_result and in the answer', async () => {
    const events = await collect(agent, user('what is 1/0'), fake().ctx);
    expectWellFormed(events);
    expect(shape(events)).toEqual(['thinking', 'tool_call', 'tool_result', 'delta', 'usage']);
    const result = of(events, 'tool_result')[0]!;
    expect(result).toMatchObject({ status: 'failed', error: 'division by zero at position 1' });
    expect(result.result).toBeUndefined();
    expect(answerOf(events)).toBe('I could not calculate 1/0: division by zero at position 1.');
  });

  it('explains a syntax error, a bad time zone and a broken search port', async () => {
    expect(answerOf(await collect(agent, user('calculate 2+*3'), fake().ctx))).toBe("I could not calculate 2+*3: unexpected '*' at position 2.");
    expect(answerOf(await collect(agent, user('what time is it in Mars/Base'), fake().ctx)))
      .toBe("I could not get the current time: unknown time zone 'Mars/Base' (use an IANA name such as Europe/Paris).");
    const broken = fake(async () => { throw new Error('connection refused'); });
    const events = await collect(agent, user('search for invoices'), broken.ctx);
    expectWellFormed(events);
    expect(of(events, 'tool_result')[0]).toMatchObject({ status: 'failed', error: 'search_conversation failed unexpectedly: connection refused' });
    expect(answerOf(events)).toBe('I could not search the conversation for “invoices”: search_conversation failed unexpectedly: connection refused.');
  });

  it('keeps going after one of several tools fails', async () => {
    const events = await collect(agent, user('what is 1/0 and what is 2+2'), fake().ctx);
    expect(of(events, 'tool_result').map((r) => r.status)).toEqual(['failed', 'succeeded']);
    expect(answerOf(events)).toBe('I could not calculate 1/0: division by zero at position 1.\n\n2+2 = 4');
  });

  it('caps the number of tool calls in one message', async () => {
    const events = await collect(agent, user('what is 1+1, 2+2, 3+3, 4+4, 5+5, 6+6, 7+7'), fake().ctx);
    expect(of(events, 'tool_call')).toHaveLength(5);
    expect(answerOf(events)).toMatch(/\n\n\(I answered the first 5 requests; ask again for the rest\.\)$/);
  });

  it('estimates usage from the history and its own output', async () => {
    const history: ChatTurn[] = [{ role: 'user', content: 'one two three four five six seven eight nine ten' }];
    const events = await collect(agent, history, fake().ctx);
    const usage = of(events, 'usage')[0]!;
    expect(usage.prompt_tokens).toBe(13);
    expect(usage.completion_tokens).toBeGreaterThan(Math.round(answerOf(events).split(/\s+/).length * 1.3) - 1);
  });
});

describe('BuiltinAgent: streaming and abort', () => {
  it('pauses between deltas so clients see a stream', async () => {
    const slow = new BuiltinAgent({ tokenDelayMs: 20, thinkingDelayMs: 0 });
    const stamps: number[] = [];
    for await (const ev of slow.run(user('what is 2+2'), fake().ctx)) if (ev.type === 'delta') stamps.push(performance.now());
    expect(stamps).toHaveLength(3);
    // Timers may fire late but never early (allow 1 ms of clock rounding).
    expect(stamps[2]! - stamps[0]!).toBeGreaterThanOrEqual(39);
  });

  it('stops within one delay when aborted mid-answer, without throwing or emitting more', async () => {
    const slow = new BuiltinAgent({ tokenDelayMs: 60_000, thinkingDelayMs: 0 });
    const { ctx, controller } = fake();
    const events: AgentEvent[] = [];
    const t0 = performance.now();
    for await (const ev of slow.run(user('tell me a story'), ctx)) {
      events.push(ev);
      if (ev.type === 'delta') setTimeout(() => controller.abort('cancelled'), 20);
    }
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(of(events, 'delta')).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('delta');
    expect(of(events, 'usage')).toHaveLength(0);
  });

  it('stops during thinking', async () => {
    const slow = new BuiltinAgent({ tokenDelayMs: 0, thinkingDelayMs: 60_000 });
    const { ctx, controller } = fake();
    const events: AgentEvent[] = [];
    for await (const ev of slow.run(user('what is 2+2'), ctx)) {
      events.push(ev);
      setTimeout(() => controller.abort('shutdown'), 5);
    }
    expect(events.map((e) => e.type)).toEqual(['thinking']);
  });

  it('emits no tool_result for a tool that finishes after the abort', async () => {
    const holder: { controller?: AbortController } = {};
    const f = fake(async () => {
      holder.controller!.abort('cancelled');
      return [{ message_id: 'x', seq: 1, role: 'user', snippet: 'pizza', created_at: '2025-01-01T00:00:00Z' }];
    });
    holder.controller = f.controller;
    const events = await collect(agent, user('search for pizza'), f.ctx);
    expect(shape(events)).toEqual(['thinking', 'tool_call']);
  });

  it('emits nothing when the signal is already aborted', async () => {
    const { ctx, controller } = fake();
    controller.abort('cancelled');
    expect(await collect(agent, user('what is 2+2'), ctx)).toEqual([]);
  });

  it('stops when the consumer stops reading', async () => {
    const { ctx } = fake();
    const iterator = agent.run(user('what is 2+2'), ctx)[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'thinking', step: 1 });
    await iterator.return(undefined);
    expect((await iterator.next()).done).toBe(true);
  });
});

describe('createAgent', () => {
  it('builds the built-in agent with its options', async () => {
    const a = createAgent('builtin', { tokenDelayMs: 0 });
    expect(a.name).toBe('builtin');
    expect(a).toBeInstanceOf(BuiltinAgent);
    const events: AgentEvent[] = [];
    for await (const ev of a.run(user('2+2'), fake().ctx)) events.push(ev);
    expect(answerOf(events)).toBe('2+2 = 4');
  });

  it('rejects an unknown agent name', () => {
    expect(() => createAgent('gpt-9' as 'builtin')).toThrow("unknown agent 'gpt-9'");
  });
});
