// The client SDK (in Node, on `ws`) against the real server: a run end to end, a cut
// and a frozen network mid-answer, a killed and a drained server restarted mid-answer,
// final close codes, and token refresh. Every ending is checked against PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, type ChatMessage, type ClientOptions, type ConnectionState } from '../../src/client/index.js';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { createConversation } from '../helpers/ws-client.js';

let tdb: TestDatabase & { db: Db };
let s: ServerProcess;
let alice: string;
const env = () => ({ ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '30', HEARTBEAT_INTERVAL_MS: '500' });
const LONG = 'Please tell me a long and winding story about ships, lighthouses, storms, harbours, sailors and the sea, with many details about each of them.';
const clients: ChatClient[] = [];

beforeAll(async () => {
  tdb = await createMigratedDatabase('sdk');
  s = await startServer(env(), 'sdk');
  alice = await token('alice');
});

afterAll(async () => {
  for (const c of clients) c.close();
  await s?.stop();
  await tdb?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function client(conv: string, url: string, o: Partial<ClientOptions> = {}) {
  const states: ConnectionState[] = [];
  const deltas = new Map<string, string>();
  const c = new ChatClient(conv, {
    url, getToken: () => alice, reconnect: { retries: Infinity, baseDelayMs: 50, maxDelayMs: 500 }, connectTimeoutMs: 3000, ...o,
    on: {
      state: (st) => states.push(st),
      delta: (d) => deltas.set(d.messageId, (deltas.get(d.messageId) ?? '') + d.text),
      ...o.on,
    },
  });
  clients.push(c);
  return { c, states, deltas };
}

async function storedRows(conv: string) {
  return tdb.db.sql<{ id: string; seq: number; role: string; status: string; content: string }[]>`
    SELECT id, seq::int AS seq, role, status, content FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
}

const view = (ms: ChatMessage[]) => ms.map((m) => ({ id: m.id, seq: m.seq, role: m.role, status: m.status, content: m.content }));
const answers = (c: ChatClient) => c.messages.filter((m) => m.role === 'assistant');
const settled = (c: ChatClient, n: number) => answers(c).length === n && answers(c).every((m) => m.status !== 'streaming');

// Hang guards sized for a shared 2-core CI machine; the waits inside are the real limits.
describe('a run', { timeout: 90_000 }, () => {
  it('streams thinking, a tool call and the answer, ending exactly as stored', async () => {
    const conv = await createConversation(s.url, alice);
    const tools: string[] = [];
    let thinking = 0;
    const { c, deltas } = client(conv, s.url, { on: { 'tool.call': (t) => tools.push(t.name), thinking: () => thinking++ } });
    const done = new Promise((r) => c.once('completed', r));
    await c.connect();
    const ack = await c.send('What is 12*(3+4)?');
    expect(ack).toMatchObject({ seq: 1, duplicate: false });
    await done;
    expect(tools).toEqual(['calculator']);
    expect(thinking).toBeGreaterThan(0);
    const rows = await storedRows(conv);
    expect(view(c.messages)).toEqual(rows);
    expect(rows[1]).toMatchObject({ role: 'assistant', status: 'complete', content: expect.stringContaining('84') });
    expect(deltas.get(rows[1]!.id)).toBe(rows[1]!.content);
    expect(c.lastSeq).toBe(2);
    c.close();
  });
});

describe('the network fails mid-answer', { timeout: 90_000 }, () => {
  it('reconnects after a cut, resumes the answer without losing or repeating text, and sends what was written offline', async () => {
    const proxy = await startTcpProxy('127.0.0.1', s.port);
    try {
      const conv = await createConversation(s.url, alice);
      const { c, states, deltas } = client(conv, `http://127.0.0.1:${proxy.port}`);
      await c.connect();
      void c.send(LONG);
      await until('the answer to stream', () => answers(c)[0]!?.content.length > 20);
      proxy.cut();
      await until('reconnecting', () => c.state.status === 'reconnecting');
      const offline = c.send('Written while offline.');
      await sleep(600); // the answer goes on on the server meanwhile
      expect((await storedRows(conv)).filter((r) => r.role === 'user')).toHaveLength(1);
      proxy.resume();
      const ack = await offline;
      await until('both answers', () => settled(c, 2), 30_000);
      const rows = await storedRows(conv);
      expect(view(c.messages)).toEqual(rows);
      expect(rows.map((r) => `${r.role}:${r.status}`)).toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete']);
      expect(rows[2]).toMatchObject({ seq: ack.seq, content: 'Written while offline.' });
      for (const r of rows.filter((x) => x.role === 'assistant')) expect(deltas.get(r.id)).toBe(r.content);
      expect(states.filter((st) => st.status === 'ready').length).toBeGreaterThanOrEqual(2);
      c.close();
    } finally {
      await proxy.close();
    }
  });

  it('treats a server gone silent as dead and reconnects', async () => {
    const proxy = await startTcpProxy('127.0.0.1', s.port);
    try {
      const conv = await createConversation(s.url, alice);
      const { c, states } = client(conv, `http://127.0.0.1:${proxy.port}`);
      await c.connect();
      await sleep(1200); // pings are answered: the server keeps the socket
      expect(c.state.status).toBe('ready');
      proxy.stall();
      const lost = await until('the silence to be noticed', () => states.find((st) => st.status === 'reconnecting'), 5000);
      expect(lost).toMatchObject({ lastClose: { code: 4000 } });
      proxy.resume();
      await until('ready again', () => c.state.status === 'ready', 10_000);
      await expect(c.send('still here')).resolves.toMatchObject({ seq: 1 });
      c.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('the server restarts mid-answer', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal}: reconnects to the restarted server and ends with exactly the stored answer`, async () => {
      const first = await startServer(env(), `sdk-${signal}-1`);
      // one stable address in front, as a Service is: the restarted process gets a new port
      const front = await startTcpProxy('127.0.0.1', first.port);
      let second: ServerProcess | undefined;
      try {
        const conv = await createConversation(first.url, alice);
        const failed: string[] = [];
        const { c, states } = client(conv, `http://127.0.0.1:${front.port}`, { on: { failed: (f) => failed.push(f.code) } });
        await c.connect();
        void c.send(LONG);
        await until('the answer to stream', () => answers(c)[0]!?.content.length > 20);
        await first.stop(signal);
        await until('reconnecting', () => c.state.status === 'reconnecting');
        second = await startServer(env(), `sdk-${signal}-2`);
        front.retarget(second.port);
        await until('the answer to end', () => settled(c, 1), 20_000);
        await until('ready', () => c.state.status === 'ready');
        const rows = await storedRows(conv);
        expect(rows.map((r) => r.status)).toEqual(['complete', 'interrupted']);
        expect(view(c.messages)).toEqual(rows);
        if (signal === 'SIGTERM') {
          expect(failed).toEqual(['interrupted']);
          expect(states.find((st) => st.status === 'reconnecting')).toMatchObject({ lastClose: { code: 1001 } });
        }
        c.close();
      } finally {
        await front.close();
        await first.stop();
        await second?.stop();
      }
    }, 60_000);
  }
});

describe('final close codes', () => {
  it('stops at 4401 with a bad token instead of retrying', async () => {
    const conv = await createConversation(s.url, alice);
    let calls = 0;
    const { c } = client(conv, s.url, { getToken: () => { calls++; return 'not-a-jwt'; } });
    await expect(c.connect()).rejects.toMatchObject({ reason: 'unauthorized', lastClose: { code: 4401 } });
    await sleep(1000);
    expect(calls).toBe(1);
    expect(c.state).toMatchObject({ status: 'closed', reason: 'unauthorized' });
  });

  it("stops at 4404 for another user's conversation", async () => {
    const conv = await createConversation(s.url, await token('bob'));
    const { c } = client(conv, s.url);
    await expect(c.connect()).rejects.toMatchObject({ reason: 'not_found', lastClose: { code: 4404 } });
  });
});

describe('token refresh', () => {
  it('sends reauth with fresh tokens and keeps the socket past the first token expiry', async () => {
    const conv = await createConversation(s.url, alice);
    const why: string[] = [];
    const { c, states } = client(conv, s.url, { getToken: (w) => { why.push(w); return token('alice', { expiresIn: 4 }); } });
    await c.connect();
    await sleep(7000);
    expect(c.state.status).toBe('ready');
    expect(states.map((st) => st.status)).toEqual(['connecting', 'ready']);
    expect(why[0]).toBe('connect');
    expect(why.filter((w) => w === 'refresh').length).toBeGreaterThanOrEqual(2);
    await expect(c.send('after the first token expired')).resolves.toMatchObject({ seq: 1 });
    c.close();
  }, 20_000);
});
