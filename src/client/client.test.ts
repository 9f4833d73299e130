// The connection state machine against a scripted fake socket, on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_MESSAGE_CHARS as WIRE_MAX } from '../protocol/frames.js';
import { ChatClient, MAX_MESSAGE_CHARS } from './client.js';
import { ChatClientError } from './errors.js';
import { FakeServer, type FakeSocket } from './testing.js';
import type { ClientOptions, ConnectionState } from './types.js';

const CONV = '6f1d3c2a-6c1e-4c3e-9a51-1f2d3c4b5a69';
const flush = () => vi.advanceTimersByTimeAsync(0);

export function jwt(expSeconds: number, sub = 'u1'): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256' })}.${b64({ sub, exp: expSeconds, n: Math.random() })}.sig`;
}

function ready(o: Record<string, unknown> = {}) {
  return { type: 'ready', protocol: 1, conversation_id: CONV, user_id: 'u1', session_id: 's1', last_seq: 0, active_run: null, heartbeat_ms: 1000, ...o } as const;
}

function stored(seq: number, o: Record<string, unknown> = {}) {
  return { id: `m${seq}`, seq, role: 'user', status: 'complete', content: `text ${seq}`, client_msg_id: null, run_id: null, user_id: 'u1', created_at: new Date(0).toISOString(), ...o };
}

// Starts the client; what the connect promise ends with is kept, not left unhandled.
function start(client: ChatClient): Promise<unknown> {
  return client.connect().catch((err: unknown) => err);
}

function setup(o: Partial<ClientOptions> = {}) {
  const server = new FakeServer();
  const why: string[] = [];
  const states: ConnectionState[] = [];
  const client = new ChatClient(CONV, {
    url: 'https://chat.test/base/',
    getToken: async (w) => {
      why.push(w);
      return jwt(Math.floor(Date.now() / 1000) + 3600);
    },
    WebSocket: server.WebSocket, random: () => 0.5, onlineEvents: null, ...o,
  });
  client.on('state', (s) => states.push(s));
  // opens the socket the client created and answers its auth with ready
  const accept = async (r: Record<string, unknown> = {}): Promise<FakeSocket> => {
    await flush();
    const s = server.last.open();
    s.frame(ready(r));
    await flush();
    return s;
  };
  return { server, client, why, states, accept };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('connecting', () => {
  it('sends auth as the first frame and resolves on ready', async () => {
    const { server, client, states } = setup();
    const p = client.connect();
    await flush();
    const s = server.last;
    expect(s.url).toBe(`wss://chat.test/base/ws/conversations/${CONV}`);
    s.open();
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]).toMatchObject({ type: 'auth', last_seq: 0 });
    expect(typeof s.sent[0]!.token).toBe('string');
    s.frame(ready({ session_id: 'abc', heartbeat_ms: 5000 }));
    await expect(p).resolves.toMatchObject({ sessionId: 'abc', heartbeatMs: 5000 });
    expect(states.map((x) => x.status)).toEqual(['connecting', 'ready']);
    client.close();
    expect(client.state).toMatchObject({ status: 'closed', reason: 'closed_by_client' });
    expect(s.closedByClient?.code).toBe(1000);
  });

  it('joins live without history when lastSeq is null, then resumes from the seq it has', async () => {
    const { server, client, accept } = setup({ lastSeq: null });
    start(client);
    const s = await accept({ last_seq: 7 });
    expect(s.sent[0]).not.toHaveProperty('last_seq');
    s.frame({ type: 'message', message: stored(8) });
    s.serverClose(1001);
    await vi.advanceTimersByTimeAsync(1000);
    server.last.open();
    expect(server.last.sent[0]).toMatchObject({ type: 'auth', last_seq: 8 });
  });

  it('rejects a url that is not http(s) or ws(s)', () => {
    expect(() => new ChatClient(CONV, { url: 'ftp://x', getToken: () => 't' })).toThrow(/http\(s\) or ws\(s\)/);
  });
});

describe('close codes', () => {
  for (const [code, reason] of [[4401, 'unauthorized'], [4404, 'not_found'], [4400, 'protocol_error']] as const) {
    it(`${code} before ready is final: no retry loop`, async () => {
      const { server, client, why } = setup();
      const p = client.connect();
      await flush();
      server.last.open().serverClose(code, 'nope');
      await expect(p).rejects.toMatchObject({ reason });
      await vi.advanceTimersByTimeAsync(120_000);
      expect(server.sockets).toHaveLength(1);
      expect(why).toEqual(['connect']);
      expect(client.state).toMatchObject({ status: 'closed', reason, lastClose: { code } });
    });
  }

  it('4401 on a ready socket (expiry) gets one fresh token, and a second 4401 is final', async () => {
    const { server, client, why, accept } = setup();
    start(client);
    const s = await accept();
    s.serverClose(4401, 'token expired');
    expect(client.state.status).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    server.last.open().serverClose(4401, 'bad');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(why).toEqual(['connect', 'reconnect']);
    expect(server.sockets).toHaveLength(2);
    expect(client.state).toMatchObject({ status: 'closed', reason: 'unauthorized' });
  });

  it('1001 and network errors retry with backoff, and the attempt count resets on ready', async () => {
    const { server, client, why, states, accept } = setup({ reconnect: { baseDelayMs: 1000, maxDelayMs: 8000 } });
    const p = client.connect();
    await flush();
    server.last.serverClose(1006); // refused before it opened
    expect(client.state).toMatchObject({ status: 'reconnecting', attempt: 1, delayMs: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(server.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    server.last.serverClose(1006);
    expect(client.state).toMatchObject({ status: 'reconnecting', attempt: 2, delayMs: 1000 }); // 0.5 * 2000
    await vi.advanceTimersByTimeAsync(1000);
    const s = await accept();
    await expect(p).resolves.toBeDefined();
    s.serverClose(1001, 'server restarting');
    expect(client.state).toMatchObject({ status: 'reconnecting', attempt: 1, delayMs: 500, lastClose: { code: 1001 } });
    expect(why).toEqual(['connect', 'reconnect', 'reconnect']);
    expect(states.map((x) => x.status)).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'ready', 'reconnecting']);
  });

  it('gives up after the configured attempts and rejects what waits', async () => {
    const { server, client } = setup({ reconnect: { retries: 2 } });
    const connected = expect(client.connect()).rejects.toBeInstanceOf(ChatClientError);
    const sent = expect(client.send('hello')).rejects.toMatchObject({ reason: 'retries_exhausted' });
    for (let i = 0; i < 3; i++) {
      await flush();
      server.last.serverClose(1006);
      await vi.advanceTimersByTimeAsync(20_000);
    }
    await connected;
    await sent;
    expect(server.sockets).toHaveLength(3);
    expect(client.state).toMatchObject({ status: 'closed', reason: 'retries_exhausted' });
  });

  it('retries forever when unlimited, with delays under the cap', async () => {
    const { server, client } = setup({ reconnect: { retries: Infinity, baseDelayMs: 100, maxDelayMs: 2000 }, random: () => 0.999 });
    start(client);
    for (let i = 0; i < 60; i++) {
      await vi.advanceTimersByTimeAsync(2000);
      server.last.serverClose(1006);
      const st = client.state;
      expect(st.status).toBe('reconnecting');
      if (st.status === 'reconnecting') expect(st.delayMs).toBeLessThan(2000);
    }
    expect(server.sockets).toHaveLength(60);
  });

  it("retries at once on the browser's online event", async () => {
    const target = new EventTarget();
    const { server, client } = setup({ onlineEvents: target as never, reconnect: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    start(client);
    await flush();
    server.last.serverClose(1006);
    expect(client.state.status).toBe('reconnecting');
    target.dispatchEvent(new Event('online'));
    await flush();
    expect(server.sockets).toHaveLength(2);
    client.close();
    target.dispatchEvent(new Event('online'));
    await flush();
    expect(server.sockets).toHaveLength(2);
  });
});

describe('heartbeat and tokens', () => {
  it('answers pings and treats a server silent for 2 x heartbeat as dead', async () => {
    const { server, client, accept } = setup();
    start(client);
    const s = await accept({ heartbeat_ms: 1000 });
    s.frame({ type: 'ping', id: 'p1', t: 1 });
    expect(s.sentOf('pong')).toEqual([{ type: 'pong', id: 'p1' }]);
    await vi.advanceTimersByTimeAsync(1500);
    s.frame({ type: 'ping', id: 'p2', t: 2 }); // keeps it alive
    await vi.advanceTimersByTimeAsync(1900);
    expect(client.state.status).toBe('ready');
    await vi.advanceTimersByTimeAsync(400);
    expect(s.closedByClient?.code).toBe(4000);
    expect(client.state).toMatchObject({ status: 'reconnecting', lastClose: { code: 4000 } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.sockets).toHaveLength(2);
  });

  it('abandons an attempt that never gets ready', async () => {
    const { server, client } = setup({ connectTimeoutMs: 3000 });
    start(client);
    await flush();
    server.last.open();
    await vi.advanceTimersByTimeAsync(3000);
    expect(server.last.closedByClient?.code).toBe(4000);
    expect(client.state.status).toBe('reconnecting');
  });

  it('sends reauth with a fresh token before the current one expires', async () => {
    let n = 0;
    const { client, why, accept } = setup({
      refreshBeforeMs: 60_000,
      getToken: (w) => {
        why.push(w);
        return jwt(Math.floor(Date.now() / 1000) + 20 + n++);
      },
    });
    start(client);
    const s = await accept({ heartbeat_ms: 60_000 });
    await vi.advanceTimersByTimeAsync(9000);
    expect(s.sentOf('reauth')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1500);
    expect(s.sentOf('reauth')).toHaveLength(1);
    expect(why).toEqual(['connect', 'refresh']);
    expect(s.sentOf('reauth')[0]!.token).not.toBe(s.sent[0]!.token);
  });
});

describe('outbox', () => {
  it('sends when ready, settles on ack, and re-sends what was unacked after a reconnect', async () => {
    const { server, client, accept } = setup();
    start(client);
    const early = client.send('written while connecting');
    const s1 = await accept();
    const m1 = s1.sentOf('message')[0]!;
    expect(m1).toMatchObject({ content: 'written while connecting' });
    s1.frame({ type: 'ack', client_msg_id: m1.client_msg_id as string, message_id: 'm1', seq: 1, duplicate: false });
    await expect(early).resolves.toEqual({ clientMsgId: m1.client_msg_id, messageId: 'm1', seq: 1, duplicate: false });

    const lost = client.send('second');
    const m2 = s1.sentOf('message')[1]!;
    s1.serverClose(1006);
    expect(client.messages.map((m) => [m.content, m.status, m.seq])).toEqual([['written while connecting', 'complete', 1], ['second', 'pending', undefined]]);
    await vi.advanceTimersByTimeAsync(1000);
    const s2 = await accept({ last_seq: 2 });
    expect(s2.sent[0]).toMatchObject({ type: 'auth', last_seq: 1 });
    expect(s2.sentOf('message')).toEqual([m2]);
    s2.frame({ type: 'message', message: stored(2, { client_msg_id: m2.client_msg_id, content: 'second' }) });
    await expect(lost).resolves.toMatchObject({ seq: 2, messageId: 'm2' });
    s2.frame({ type: 'ack', client_msg_id: m2.client_msg_id as string, message_id: 'm2', seq: 2, duplicate: true });
    expect(client.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('re-sends after a rate-limit error', async () => {
    const { client, accept } = setup();
    start(client);
    const s = await accept();
    void client.send('hi');
    s.frame({ type: 'error', code: 'rate_limited', message: 'slow down' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.sentOf('message')).toHaveLength(2);
    expect(s.sentOf('message')[0]).toEqual(s.sentOf('message')[1]);
  });

  it('refuses empty, oversized and NUL messages without sending them', async () => {
    expect(MAX_MESSAGE_CHARS).toBe(WIRE_MAX);
    const { client, accept } = setup();
    start(client);
    const s = await accept();
    for (const bad of ['  ', 'x'.repeat(MAX_MESSAGE_CHARS + 1), 'a\u0000b']) await expect(client.send(bad)).rejects.toMatchObject({ reason: 'invalid_message' });
    expect(s.sentOf('message')).toHaveLength(0);
  });
});

describe('resume', () => {
  it('resumes before a streaming answer, merges snapshot and deltas, and ends with the stored text', async () => {
    const { server, client, accept } = setup();
    const deltas: string[] = [];
    client.on('delta', (d) => deltas.push(d.text));
    start(client);
    const s1 = await accept({ last_seq: 1 });
    s1.frame({ type: 'message', message: stored(1) });
    s1.frame({ type: 'message', message: stored(2, { role: 'assistant', status: 'streaming', content: '', run_id: 'r1' }) });
    s1.frame({ type: 'response.delta', run_id: 'r1', message_id: 'm2', offset: 0, delta: 'Hello ' });
    s1.frame({ type: 'response.delta', run_id: 'r1', message_id: 'm2', offset: 6, delta: 'wor' });
    s1.serverClose(1001);
    await vi.advanceTimersByTimeAsync(1000);
    const s2 = await accept({ last_seq: 2, active_run: { run_id: 'r1', message_id: 'm2', seq: 2 } });
    expect(s2.sent[0]).toMatchObject({ last_seq: 1 });
    s2.frame({ type: 'message', message: stored(2, { role: 'assistant', status: 'streaming', content: 'Hel', run_id: 'r1' }) }); // older row
    s2.frame({ type: 'response.delta', run_id: 'r1', message_id: 'm2', offset: 14, delta: 'again' }); // ahead of the snapshot
    s2.frame({ type: 'run.snapshot', run_id: 'r1', message_id: 'm2', seq: 2, content: 'Hello world, ', offset: 13 });
    s2.frame({ type: 'response.delta', run_id: 'r1', message_id: 'm2', offset: 9, delta: 'ld, h' }); // overlap
    expect(client.messages[1]!.content).toBe('Hello world, hagain');
    s2.frame({ type: 'response.completed', run_id: 'r1', message_id: 'm2', seq: 2, content: 'Hello world, hagain', cached: false, usage: { prompt_tokens: 1, completion_tokens: 2 } });
    expect(deltas.join('')).toBe('Hello world, hagain');
    expect(client.messages.map((m) => [m.seq, m.status])).toEqual([[1, 'complete'], [2, 'complete']]);
    expect(client.lastSeq).toBe(2);
  });

  it('takes the stored text of an interrupted answer even when it is shorter than what streamed', async () => {
    const { server, client, accept } = setup();
    start(client);
    const s1 = await accept();
    s1.frame({ type: 'message', message: stored(1, { role: 'assistant', status: 'streaming', content: '', run_id: 'r1' }) });
    s1.frame({ type: 'response.delta', run_id: 'r1', message_id: 'm1', offset: 0, delta: 'one two three' });
    s1.serverClose(1006); // killed
    await vi.advanceTimersByTimeAsync(1000);
    const s2 = await accept({ last_seq: 1 });
    expect(s2.sent[0]).toMatchObject({ last_seq: 0 });
    s2.frame({ type: 'message', message: stored(1, { role: 'assistant', status: 'interrupted', content: 'one two', run_id: 'r1' }) });
    expect(client.messages).toMatchObject([{ seq: 1, status: 'interrupted', content: 'one two' }]);
    expect(server.sockets).toHaveLength(2);
  });

  it('de-duplicates replayed messages by seq', async () => {
    const { client, accept } = setup();
    const seen: number[] = [];
    start(client);
    const s = await accept();
    for (const seq of [1, 2, 2, 1, 3]) s.frame({ type: 'message', message: stored(seq) });
    client.on('message', (m) => seen.push(m.seq!));
    s.frame({ type: 'message', message: stored(3) });
    expect(client.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(seen).toEqual([3]);
  });

  it('reloads over REST on resync', async () => {
    const calls: string[] = [];
    const fetchStub = (async (url: string) => {
      calls.push(url);
      const after = Number(new URL(url).searchParams.get('after_seq'));
      const items = after === 0 ? [stored(1), stored(2)] : [stored(3)];
      return new Response(JSON.stringify({ items, has_more: after === 0, last_seq: 3 }));
    }) as unknown as typeof fetch;
    const { client, accept } = setup({ fetch: fetchStub });
    const resyncs: string[] = [];
    client.on('resync', (r) => resyncs.push(r.reason));
    start(client);
    const s = await accept({ last_seq: 3 });
    s.frame({ type: 'resync', reason: 'more than 1000 messages to replay' });
    await flush();
    expect(resyncs).toEqual(['more than 1000 messages to replay']);
    expect(calls.map((u) => new URL(u).pathname + new URL(u).search)).toEqual([
      `/base/api/v1/conversations/${CONV}/messages?after_seq=0&limit=500`,
      `/base/api/v1/conversations/${CONV}/messages?after_seq=2&limit=500`,
    ]);
    expect(client.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});

describe('events', () => {
  it('emits typed events for a run, typing, presence and errors', async () => {
    const { client, accept } = setup();
    const got: string[] = [];
    for (const t of ['run.started', 'thinking', 'tool.call', 'tool.result', 'completed', 'failed', 'typing', 'presence', 'error'] as const) {
      client.on(t, (v) => got.push(`${t}:${JSON.stringify(v).length > 2}`));
    }
    start(client);
    const s = await accept();
    s.frame({ type: 'presence', sessions: [{ session_id: 's1', user_id: 'u1' }, { session_id: 's2', user_id: 'u1' }] });
    s.frame({ type: 'typing', session_id: 's2', user_id: 'u1', state: 'start' });
    s.frame({ type: 'run.started', run_id: 'r1', message_id: 'm1', seq: 1, agent: 'builtin' });
    s.frame({ type: 'agent.thinking', run_id: 'r1', step: 1, text: 'Hmm, ' });
    s.frame({ type: 'agent.thinking', run_id: 'r1', step: 1, text: 'yes.' });
    s.frame({ type: 'tool.call', run_id: 'r1', tool_call_id: 'c1', name: 'calculator', arguments: { expression: '1+1' } });
    s.frame({ type: 'tool.result', run_id: 'r1', tool_call_id: 'c1', status: 'succeeded', result: { value: 2 }, duration_ms: 1 });
    s.frame({ type: 'response.completed', run_id: 'r1', message_id: 'm1', seq: 1, content: '2', cached: false, usage: { prompt_tokens: 1, completion_tokens: 1 } });
    s.frame({ type: 'run.failed', run_id: 'r2', message_id: 'm2', code: 'cancelled', message: 'stopped' });
    s.frame({ type: 'error', code: 'invalid_request', message: 'bad frame' });
    s.frame({ type: 'something.new' });
    s.raw('not json');
    expect(got).toEqual(['presence:true', 'typing:true', 'run.started:true', 'thinking:true', 'thinking:true', 'tool.call:true', 'tool.result:true', 'completed:true', 'failed:true', 'error:true', 'error:true']);
    expect(client.presence).toHaveLength(2);
    const answer = client.messages.find((m) => m.id === 'm1')!;
    expect(answer.run).toMatchObject({ agent: 'builtin', thinking: [{ step: 1, text: 'Hmm, yes.' }], tools: [{ name: 'calculator', status: 'succeeded', result: { value: 2 } }] });
    client.typing(true);
    client.cancel('r1');
    expect(s.sent.slice(1)).toEqual([{ type: 'typing', state: 'start' }, { type: 'cancel', run_id: 'r1' }]);
  });
});
