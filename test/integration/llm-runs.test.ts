// Runs with LLM_PROVIDER=openai end to end: the real server process talks to a local
// OpenAI-compatible server (test/fixtures/openai/fake-server.ts, fixtures named there) and
// clients see the frames over real WebSockets; the stored rows are checked too.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';
import { startFakeOpenAi, type FakeOpenAi, type Reply } from '../fixtures/openai/fake-server.js';

const KEY = 'sk-live-secret-never-logged-123';
let fake: FakeOpenAi;
let alice: string;

beforeAll(async () => {
  fake = await startFakeOpenAi();
});

afterAll(async () => {
  await fake?.close();
});

const { s, tdb } = useServer('llm-runs', () => ({
  LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.url, LLM_API_KEY: KEY, LLM_MODEL: 'gpt-4o-mini',
  LLM_IDLE_TIMEOUT_MS: '400', LLM_RETRY_BASE_MS: '10', CACHE_ENABLED: 'false',
}), 'llmruns');

beforeAll(async () => {
  alice = await token('alice');
});

async function answerRow(runId: string) {
  const [m] = await tdb.db.sql<{ status: string; content: string; metadata: Record<string, unknown> }[]>`SELECT status, content, metadata FROM messages WHERE run_id = ${runId}`;
  return m!;
}

// A new conversation whose first message, `content`, the model server answers with `replies`.
async function ask(content: string, ...replies: Reply[]) {
  fake.script(...replies);
  const conv = await createConversation(s.url, alice);
  const { sock } = await connectReady(s.url, conv, alice);
  sock.send({ type: 'message', client_msg_id: randomUUID(), content });
  return sock;
}

describe('LLM_PROVIDER=openai', () => {
  it('streams tool calls and the answer, and stores them', async () => {
    const sock = await ask('What is 12*(3+4), and the time?', { kind: 'sse', file: 'tool-calls-parallel.sse' }, { kind: 'sse', file: 'after-tools.sse' });
    const done = await sock.type('response.completed', 0, 15_000);
    expect(sock.ofType('run.started')[0]).toMatchObject({ agent: 'openai' });
    expect(sock.ofType('tool.call').map((f) => f.name)).toEqual(['calculator', 'current_time']);
    expect(sock.ofType('tool.result').map((f) => f.status)).toEqual(['succeeded', 'succeeded']);
    expect(done).toMatchObject({ content: '12*(3+4) is 84.', cached: false, usage: { prompt_tokens: 310, completion_tokens: 49 } });
    expect(await answerRow(done.run_id)).toMatchObject({ status: 'complete', content: '12*(3+4) is 84.' });
    const calls = await tdb.db.sql<{ name: string; status: string }[]>`SELECT name, status FROM tool_calls WHERE run_id = ${done.run_id} ORDER BY name`;
    expect(calls).toEqual([{ name: 'calculator', status: 'succeeded' }, { name: 'current_time', status: 'succeeded' }]);
    expect(s.lines.join('\n')).not.toContain(KEY);
    sock.close();
  });

  it('reasoning streams as agent.thinking', async () => {
    const sock = await ask('Which is larger, 9.11 or 9.9?', { kind: 'sse', file: 'reasoning.sse' });
    const done = await sock.type('response.completed', 0, 15_000);
    expect(sock.ofType('agent.thinking').map((f) => f.text).join('')).toContain('So 9.9 is larger.');
    expect(done.content).toBe('9.9 is larger than 9.11.');
    sock.close();
  });

  it('an error mid-stream: run.failed llm_bad_response, the partial answer stored as failed', async () => {
    const sock = await ask('Tell me something', { kind: 'sse', file: 'error-midstream.sse' });
    const failed = await sock.type('run.failed', 0, 15_000);
    expect(failed).toMatchObject({ code: 'llm_bad_response', message: expect.stringContaining('partial answer was kept') });
    const row = await answerRow(failed.run_id);
    expect(row).toMatchObject({ status: 'failed', content: 'The first part of the answer', metadata: { error: 'llm_bad_response' } });
    sock.close();
  });

  it('a stall: run.failed llm_timeout with the partial answer', async () => {
    const sock = await ask('hi', { kind: 'stall', file: 'text.sse', events: 3 });
    const failed = await sock.type('run.failed', 0, 15_000);
    expect(failed.code).toBe('llm_timeout');
    expect(await answerRow(failed.run_id)).toMatchObject({ status: 'failed', content: 'Hello! How' });
    sock.close();
  });

  it('a connection to the model server cut mid-answer: run.failed llm_unreachable with the partial answer; cut before answering: retried', async () => {
    const sock = await ask('hi', { kind: 'cut', file: 'text.sse', events: 3 });
    const failed = await sock.type('run.failed', 0, 15_000);
    expect(failed).toMatchObject({ code: 'llm_unreachable', message: expect.stringContaining('broke mid-answer') });
    expect(await answerRow(failed.run_id)).toMatchObject({ status: 'failed', content: 'Hello! How' });
    // the same server, cut before it answers, then answering: the retry's answer is stored whole
    fake.script({ kind: 'cut', file: 'text.sse', events: 0 }, { kind: 'sse', file: 'text.sse' });
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'again' });
    const done = await sock.type('response.completed', 0, 15_000);
    expect(await answerRow(done.run_id)).toMatchObject({ status: 'complete', content: done.content });
    expect(done.content).toMatch(/^Hello! How/);
    sock.close();
  });

  it('cancel aborts the request to the model server and keeps the partial answer', async () => {
    fake.script({ kind: 'stall', file: 'text.sse', events: 3 });
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice);
    const before = fake.received.length;
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'hi there' });
    // the fake server sends 'Hello! How' and then stalls
    const delta = await sock.waitFor((f) => f.type === 'response.delta' && f.offset + f.delta.length >= 'Hello! How'.length, 15_000);
    sock.send({ type: 'cancel', run_id: delta.run_id });
    const failed = await sock.type('run.failed', 0, 15_000);
    expect(failed.code).toBe('cancelled');
    await fake.received[before]!.aborted;
    expect(await answerRow(failed.run_id)).toMatchObject({ status: 'cancelled', content: 'Hello! How' });
    sock.close();
  });

  it('an unauthorized key: run.failed llm_unauthorized', async () => {
    const sock = await ask('hello?', { kind: 'status', status: 401, file: 'unauthorized.json' });
    const failed = await sock.type('run.failed', 0, 15_000);
    expect(failed.code).toBe('llm_unauthorized');
    expect(await answerRow(failed.run_id)).toMatchObject({ status: 'failed', content: '' });
    sock.close();
  });
});

describe('configuration', () => {
  it('refuses openai without a model or with a bad URL, naming both, never echoing the key', async () => {
    const { runCli } = await import('../helpers/server.js');
    const r = await runCli(['serve'], { ...AUTH_ENV, DATABASE_URL: tdb.url, LLM_PROVIDER: 'openai', LLM_API_KEY: KEY, LLM_BASE_URL: 'ftp://x' });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain('LLM_BASE_URL="ftp://x"');
    expect(r.stderr + r.stdout).toContain('LLM_MODEL=unset');
    expect(r.stderr + r.stdout).not.toContain(KEY);
  });
});
