// The OpenAI-compatible provider against a local server that replays recorded streams
// (test/fixtures/openai; each file's header comment names the documentation its shape follows):
//   text.sse                 OpenAI chat-completions streaming reference, with include_usage
//   reasoning.sse            DeepSeek / vLLM reasoning_content (and Ollama's `reasoning`)
//   tool-calls-parallel.sse  OpenAI function-calling guide, parallel calls split across chunks
//   after-tools.sse          the answer after tool results
//   error-midstream.sse      an error object inside the stream (OpenAI error-codes guide)
//   malformed.sse            tolerated oddities, then a chunk that is not JSON
//   rate-limited.json, unauthorized.json   OpenAI error bodies for 429 and 401
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiAgent, type OpenAiAgentOptions } from '../../src/agent/openai/agent.js';
import { builtinTools } from '../../src/agent/tools/registry.js';
import { AgentFailure, type AgentContext, type AgentEvent } from '../../src/core/agent.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fixtures/openai/fake-server.js';

let fake: FakeOpenAi;
beforeAll(async () => { fake = await startFakeOpenAi(); });
afterAll(async () => { await fake.close(); });
beforeEach(() => { fake.received.length = 0; });

function agent(over: Partial<OpenAiAgentOptions> = {}): OpenAiAgent {
  return new OpenAiAgent({
    baseUrl: fake.url, apiKey: 'sk-test-key', model: 'gpt-4o-mini', maxSteps: 4, tools: builtinTools,
    timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs: 2000 }, maxRetries: 2, retryBaseMs: 10,
    ...over,
  });
}

function ctx(signal = new AbortController().signal): AgentContext {
  return {
    conversationId: 'c', userId: 'u', runId: 'r', signal, now: () => new Date('2024-05-01T12:00:00Z'),
    searchConversation: async () => [],
  };
}

async function collect(a: OpenAiAgent, c = ctx(), question = 'hi'): Promise<{ events: AgentEvent[]; error: unknown }> {
  const events: AgentEvent[] = [];
  try {
    for await (const ev of a.run([{ role: 'user', content: question }], c)) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const text = (evs: AgentEvent[]) => evs.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');

describe('streams', () => {
  it('text deltas, usage, and the request it sent', async () => {
    fake.script({ kind: 'sse', file: 'text.sse', pieceBytes: 7 });
    const { events, error } = await collect(agent());
    expect(error).toBeUndefined();
    expect(text(events)).toBe('Hello! How can I help you today?');
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)).toEqual({ type: 'usage', prompt_tokens: 19, completion_tokens: 10, cached: false });
    const req = fake.received[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test-key');
    expect(req.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, tool_choice: 'auto' });
    expect((req.body.messages as { role: string }[]).map((m) => m.role)).toEqual(['system', 'user']);
    expect((req.body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(builtinTools.map((t) => t.name));
  });

  it('reasoning deltas become thinking, content becomes the answer', async () => {
    fake.script({ kind: 'sse', file: 'reasoning.sse' });
    const { events, error } = await collect(agent());
    expect(error).toBeUndefined();
    const thinking = events.filter((e) => e.type === 'thinking');
    expect(thinking.map((e) => e.type === 'thinking' && e.text).join('')).toBe('The user asks for 9.11 vs 9.9. Compare tenths: 1 < 9. So 9.9 is larger.');
    expect(thinking.every((e) => e.type === 'thinking' && e.step === 1)).toBe(true);
    expect(text(events)).toBe('9.9 is larger than 9.11.');
  });

  it('parallel tool calls assembled by index run, and their results go back to the model', async () => {
    fake.script({ kind: 'sse', file: 'tool-calls-parallel.sse', pieceBytes: 50 }, { kind: 'sse', file: 'after-tools.sse' });
    const { events, error } = await collect(agent(), ctx(), 'what is 12*(3+4) and the time?');
    expect(error).toBeUndefined();
    const calls = events.filter((e) => e.type === 'tool_call');
    expect(calls).toEqual([
      { type: 'tool_call', id: 'call_Qm1x', name: 'calculator', arguments: { expression: '12*(3+4)' } },
      { type: 'tool_call', id: 'call_Zt7k', name: 'current_time', arguments: { timezone: 'UTC' } },
    ]);
    const results = events.filter((e) => e.type === 'tool_result');
    expect(results.map((r) => r.type === 'tool_result' && [r.id, r.status])).toEqual([['call_Qm1x', 'succeeded'], ['call_Zt7k', 'succeeded']]);
    expect(text(events)).toBe('12*(3+4) is 84.');
    expect(events.at(-1)).toEqual({ type: 'usage', prompt_tokens: 310, completion_tokens: 49, cached: false });
    const second = fake.received[1]!.body.messages as Record<string, unknown>[];
    expect(second.slice(2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [
        { id: 'call_Qm1x', type: 'function', function: { name: 'calculator', arguments: '{"expression": "12*(3+4)"}' } },
        { id: 'call_Zt7k', type: 'function', function: { name: 'current_time', arguments: '{"timezone": "UTC"}' } },
      ] },
      { role: 'tool', tool_call_id: 'call_Qm1x', content: expect.stringContaining('84') },
      { role: 'tool', tool_call_id: 'call_Zt7k', content: expect.stringContaining('2024-05-01') },
    ]);
  });

  it('the last step forbids tools, so the loop always ends with an answer', async () => {
    fake.script({ kind: 'sse', file: 'tool-calls-parallel.sse' }, { kind: 'sse', file: 'text.sse' });
    const { events, error } = await collect(agent({ maxSteps: 2 }));
    expect(error).toBeUndefined();
    expect(fake.received.map((r) => r.body.tool_choice)).toEqual(['auto', 'none']);
    expect(text(events)).toBe('Hello! How can I help you today?');
  });
});

describe('failures', () => {
  const failure = (e: unknown) => (e instanceof AgentFailure ? { code: e.code, message: e.message } : e);

  it('an error mid-stream keeps the partial answer and fails llm_bad_response', async () => {
    fake.script({ kind: 'sse', file: 'error-midstream.sse' });
    const { events, error } = await collect(agent());
    expect(text(events)).toBe('The first part of the answer');
    expect(failure(error)).toEqual({ code: 'llm_bad_response', message: expect.stringContaining('The server had an error') });
    expect(fake.received).toHaveLength(1); // never retried after the first token
  });

  it('malformed chunks: oddities are tolerated, a non-JSON chunk fails llm_bad_response', async () => {
    fake.script({ kind: 'sse', file: 'malformed.sse' });
    const { events, error } = await collect(agent());
    expect(text(events)).toBe('Partial answer');
    expect(failure(error)).toEqual({ code: 'llm_bad_response', message: 'the model server sent a stream chunk that is not JSON' });
  });

  it('a 429 then success is retried with backoff and succeeds', async () => {
    fake.script({ kind: 'status', status: 429, file: 'rate-limited.json', headers: { 'retry-after': '0' } }, { kind: 'sse', file: 'text.sse' });
    const { events, error } = await collect(agent());
    expect(error).toBeUndefined();
    expect(text(events)).toBe('Hello! How can I help you today?');
    expect(fake.received).toHaveLength(2);
  });

  it('429 on every attempt fails llm_rate_limited after the retries', async () => {
    const r = { kind: 'status', status: 429, file: 'rate-limited.json' } as const;
    fake.script(r, r, r);
    const { error } = await collect(agent());
    expect(failure(error)).toEqual({ code: 'llm_rate_limited', message: expect.stringContaining('Rate limit reached') });
    expect(fake.received).toHaveLength(3);
  });

  it('5xx is retried, then fails llm_unreachable', async () => {
    fake.script({ kind: 'status', status: 503, body: 'upstream down' }, { kind: 'status', status: 502, body: '<html>bad gateway</html>' });
    const { error } = await collect(agent({ maxRetries: 1 }));
    expect(failure(error)).toEqual({ code: 'llm_unreachable', message: 'the model server is unavailable (HTTP 502): <html>bad gateway</html>' });
  });

  it('401 fails llm_unauthorized at once, without echoing the server text (it quotes the key)', async () => {
    fake.script({ kind: 'status', status: 401, file: 'unauthorized.json' });
    const { error } = await collect(agent());
    expect(failure(error)).toEqual({ code: 'llm_unauthorized', message: 'the model server refused the API key (HTTP 401); check LLM_API_KEY' });
    expect(fake.received).toHaveLength(1);
  });

  it('a 400 (unknown model) fails llm_bad_response with the server message', async () => {
    fake.script({ kind: 'status', status: 404, body: '{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error"}}' });
    const { error } = await collect(agent());
    expect(failure(error)).toEqual({ code: 'llm_bad_response', message: 'the model server rejected the request (HTTP 404): The model `gpt-9` does not exist' });
  });

  it('an unreachable server fails llm_unreachable', async () => {
    const { error } = await collect(agent({ baseUrl: 'http://127.0.0.1:1/v1', maxRetries: 1 }));
    expect(failure(error)).toEqual({ code: 'llm_unreachable', message: 'cannot reach the model server (ECONNREFUSED)' });
  });

  it('a stall mid-stream fails llm_timeout after the idle timeout, keeping the partial answer', async () => {
    fake.script({ kind: 'stall', file: 'text.sse', events: 3 });
    const t0 = Date.now();
    const { events, error } = await collect(agent({ timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs: 300 } }));
    expect(text(events)).toBe('Hello! How');
    expect(failure(error)).toEqual({ code: 'llm_timeout', message: 'the model server stopped sending for 300 ms' });
    expect(Date.now() - t0).toBeLessThan(2000);
    await fake.received[0]!.aborted; // the request was really closed
  });

  it('no first token fails llm_timeout after the first-token timeout', async () => {
    fake.script({ kind: 'hang' });
    const { error } = await collect(agent({ timeouts: { connectMs: 2000, firstTokenMs: 300, idleMs: 5000 } }));
    expect(failure(error)).toEqual({ code: 'llm_timeout', message: 'the model server sent nothing within 300 ms' });
  });

  it('cancellation aborts the HTTP request and ends the run quietly', async () => {
    fake.script({ kind: 'stall', file: 'text.sse', events: 3 });
    const ac = new AbortController();
    const got: AgentEvent[] = [];
    const done = (async () => {
      for await (const ev of agent().run([{ role: 'user', content: 'hi' }], ctx(ac.signal))) {
        got.push(ev);
        if (text(got) === 'Hello! How') ac.abort('cancelled');
      }
    })();
    await expect(done).resolves.toBeUndefined();
    await fake.received[0]!.aborted;
    expect(got.some((e) => e.type === 'usage')).toBe(false);
  });
});
