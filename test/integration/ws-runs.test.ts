// Messages and agent runs over real WebSockets, checked against the stored rows.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { token } from '../helpers/tokens.js';
import { assembleAnswer, connectReady, createConversation, TestSocket, wsUrl } from '../helpers/ws-client.js';

const { s, tdb } = useServer('ws-runs', { AGENT_TOKEN_DELAY_MS: '25', HEARTBEAT_INTERVAL_MS: '400' }, 'wsruns');
let alice: string;

beforeAll(async () => {
  alice = await token('alice');
});

describe('a run with a tool call', () => {
  it('streams thinking, tool call and result, deltas and completion, matching the stored rows', async () => {
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice);
    const cid = randomUUID();
    sock.send({ type: 'message', client_msg_id: cid, content: 'What is 12*(3+4)?' });
    const ack = await sock.type('ack');
    expect(ack).toMatchObject({ client_msg_id: cid, seq: 1, duplicate: false });
    const done = await sock.type('response.completed', 0, 15_000);
    const types = sock.frames.map((f) => f.type).filter((t) => t !== 'presence' && t !== 'ping');
    expect(types[0]).toBe('ready');
    expect(types[1]).toBe('ack');
    const order = ['message', 'run.started', 'agent.thinking', 'tool.call', 'tool.result', 'response.delta', 'response.completed'];
    const firsts = order.map((t) => types.indexOf(t));
    expect(firsts.every((i) => i > 0)).toBe(true);
    expect([...firsts].sort((a, b) => a - b)).toEqual(firsts);

    const call = sock.ofType('tool.call')[0]!;
    const result = sock.ofType('tool.result')[0]!;
    expect(call.arguments).toMatchObject({ expression: expect.stringContaining('12*(3+4)') });
    expect(result).toMatchObject({ tool_call_id: call.tool_call_id, status: 'succeeded' });
    expect(done.content).toContain('84');
    expect(assembleAnswer(sock.frames, done.run_id)).toBe(done.content);
    expect(done).toMatchObject({ seq: 2, cached: false });

    const [msg] = await tdb.db.sql<{ status: string; content: string; role: string; run_id: string }[]>`SELECT status, content, role, run_id FROM messages WHERE seq = 2 AND conversation_id = ${conv}`;
    expect(msg).toEqual({ status: 'complete', content: done.content, role: 'assistant', run_id: done.run_id });
    const calls = await tdb.db.sql<{ name: string; status: string; arguments: unknown; duration_ms: number }[]>`SELECT name, status, arguments, duration_ms FROM tool_calls WHERE run_id = ${done.run_id}`;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ name: call.name, status: 'succeeded', arguments: call.arguments });
    const cps = await tdb.db.sql<{ step: number; kind: string }[]>`SELECT step, kind FROM agent_checkpoints WHERE run_id = ${done.run_id} ORDER BY step`;
    expect(cps.map((c) => c.step)).toEqual(cps.map((_, i) => i));
    expect(cps[0]!.kind).toBe('started');
    expect(cps.map((c) => c.kind)).toEqual(expect.arrayContaining(['thinking', 'tool_call', 'tool_result']));
    expect(cps[cps.length - 1]!.kind).toBe('complete');
    sock.close();
  });
});

describe('conversation search tool', () => {
  it('finds earlier messages, not the question itself, and stores the tool call', async () => {
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice);
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'I love pizza with olives' });
    await sock.type('response.completed', 0, 20_000);
    const mark = sock.frames.length;
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What did I say about pizza?' });
    const done = await sock.type('response.completed', mark, 20_000);
    const result = await sock.type('tool.result', mark);
    const hits = (result.result as { hits?: { seq: number }[] }).hits ?? (result.result as { seq: number }[]);
    expect(Array.isArray(hits)).toBe(true);
    const seqs = hits.map((h) => h.seq);
    expect(seqs).toContain(1);
    expect(seqs).not.toContain(3); // the question itself
    expect(seqs.every((x) => x < 3)).toBe(true);
    expect(done.content).toContain('olives');
    const [row] = await tdb.db.sql<{ name: string; status: string }[]>`SELECT name, status FROM tool_calls WHERE run_id = ${done.run_id}`;
    expect(row).toEqual({ name: 'search_conversation', status: 'succeeded' });
    sock.close();
  });
});

describe('idempotency', () => {
  it('answers a retry on another socket with the original ack and stores nothing new', async () => {
    const conv = await createConversation(s.url, alice);
    const cid = randomUUID();
    const a = await connectReady(s.url, conv, alice);
    a.sock.send({ type: 'message', client_msg_id: cid, content: 'hello there' });
    const first = await a.sock.type('ack');
    a.sock.terminate(); // the connection drops; the client cannot know the ack arrived
    const b = await connectReady(s.url, conv, alice);
    b.sock.send({ type: 'message', client_msg_id: cid, content: 'hello there' });
    const again = await b.sock.type('ack');
    expect(again).toMatchObject({ message_id: first.message_id, seq: first.seq, duplicate: true });
    await b.sock.type('response.completed', 0, 15_000);
    const rows = await tdb.db.sql<{ role: string }[]>`SELECT role FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
    expect(rows.map((r) => r.role)).toEqual(['user', 'assistant']); // one message, one run
    b.sock.close();
  });
});

describe('resume', () => {
  it('replays after last_seq, then joins the run in flight with a snapshot: no text lost or doubled', async () => {
    const conv = await createConversation(s.url, alice);
    const a = await connectReady(s.url, conv, alice);
    a.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'Tell me something about the sea and the mountains and rivers' });
    await a.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 20, 15_000);
    a.sock.terminate();
    const b = await connectReady(s.url, conv, alice, { last_seq: 0 });
    expect(b.ready.active_run).toMatchObject({ seq: 2 });
    const done = await b.sock.type('response.completed', 0, 15_000);
    const replayed = b.sock.ofType('message').map((m) => m.message.seq);
    expect(replayed.slice(0, 2)).toEqual([1, 2]);
    const snap = b.sock.ofType('run.snapshot')[0]!;
    expect(snap.offset).toBeGreaterThan(0);
    expect(done.content.startsWith(snap.content)).toBe(true);
    expect(assembleAnswer(b.sock.frames, done.run_id)).toBe(done.content);
    const [row] = await tdb.db.sql<{ content: string }[]>`SELECT content FROM messages WHERE id = ${done.message_id}`;
    expect(row!.content).toBe(done.content);
    b.sock.close();
  });

  it('replays exactly the messages after a non-zero last_seq', async () => {
    const conv = await createConversation(s.url, alice);
    const a = await connectReady(s.url, conv, alice);
    for (const content of ['first question', 'second question']) {
      const from = a.sock.frames.length;
      a.sock.send({ type: 'message', client_msg_id: randomUUID(), content });
      await a.sock.type('response.completed', from, 15_000);
    }
    a.sock.close();
    const b = await connectReady(s.url, conv, alice, { last_seq: 2 });
    expect(b.ready.last_seq).toBe(4);
    await b.sock.waitFor(() => b.sock.ofType('message').length >= 2);
    b.sock.send({ type: 'ping', id: 'after-replay' });
    await b.sock.waitFor((f) => f.type === 'pong' && f.id === 'after-replay');
    expect(b.sock.ofType('message').map((m) => m.message.seq), 'replay is off by one').toEqual([3, 4]);
    b.sock.close();
  });

  it('says resync when last_seq is ahead of the conversation', async () => {
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice, { last_seq: 99 });
    expect((await sock.type('resync')).reason).toMatch(/ahead/);
    sock.close();
  });

  it('runs on when the sender disconnects', async () => {
    const conv = await createConversation(s.url, alice);
    const a = await connectReady(s.url, conv, alice);
    a.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'Write a long story about a lighthouse keeper' });
    await a.sock.type('ack');
    a.sock.terminate();
    await expect.poll(async () => (await tdb.db.sql`SELECT status FROM messages WHERE conversation_id = ${conv} AND seq = 2`)[0]?.status, { timeout: 20_000 }).toBe('complete');
  });
});

describe('cancel', () => {
  it('stops the run and keeps the partial answer as cancelled', async () => {
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice);
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'Explain the history of the printing press in detail please' });
    const delta = await sock.type('response.delta', 0, 15_000);
    sock.send({ type: 'cancel', run_id: delta.run_id });
    const failed = await sock.type('run.failed', 0, 10_000);
    expect(failed).toMatchObject({ run_id: delta.run_id, code: 'cancelled' });
    const partial = assembleAnswer(sock.frames, delta.run_id);
    const [row] = await tdb.db.sql<{ status: string; content: string }[]>`SELECT status, content FROM messages WHERE id = ${delta.message_id}`;
    expect(row!.status).toBe('cancelled');
    expect(row!.content).toBe(partial);
    expect(partial.length).toBeGreaterThan(0);
    sock.send({ type: 'cancel', run_id: randomUUID() });
    expect((await sock.waitFor((f) => f.type === 'error' && f.code === 'run_not_found')).message).toMatch(/no run/);
    sock.close();
  });
});

describe('typing, presence, heartbeat', () => {
  it('relays typing to the other sessions and lists sessions on join and leave', async () => {
    const conv = await createConversation(s.url, alice);
    const a = await connectReady(s.url, conv, alice);
    const b = await connectReady(s.url, conv, alice);
    const both = await a.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 2);
    expect(both.sessions.map((x: { session_id: string }) => x.session_id).sort()).toEqual([a.ready.session_id, b.ready.session_id].sort());
    b.sock.send({ type: 'typing', state: 'start' });
    expect(await a.sock.type('typing')).toMatchObject({ session_id: b.ready.session_id, user_id: 'alice', state: 'start' });
    expect(b.sock.ofType('typing')).toHaveLength(0);
    const count = (await tdb.db.sql`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ${conv}`)[0]!.n;
    expect(count).toBe(0); // typing is never stored
    b.sock.close();
    await a.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 1);
    a.sock.close();
  });

  it('pings, measures the round trip, and closes 4410 a socket that misses two pongs', async () => {
    const conv = await createConversation(s.url, alice);
    const live = await connectReady(s.url, conv, alice);
    const dead = await connectReady(s.url, conv, alice, {}, false);
    const closed = await dead.sock.closedWithin();
    expect(closed.code).toBe(4410);
    expect(dead.sock.ofType('ping').length).toBeGreaterThanOrEqual(2);
    expect(live.sock.ws.readyState).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    expect(Number(/chat_ws_roundtrip_duration_seconds_count (\d+)/.exec(metrics)![1])).toBeGreaterThan(0);
    expect(Number(/chat_ws_message_ack_duration_seconds_count (\d+)/.exec(metrics)![1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/chat_agent_run_duration_seconds_count\{outcome="complete"\} \d/);
    live.sock.close();
  });
});

describe('garbage', () => {
  it('never crashes the server', async () => {
    const conv = await createConversation(s.url, alice);
    const { sock } = await connectReady(s.url, conv, alice);
    const junk = ['', '[]', 'null', '{"type":null}', '{"type":"message","content":{"$gt":1}}', '{"type":"cancel","run_id":"\u0000"}', '\uD800', '{"__proto__":{"type":"auth"}}', '9'.repeat(5000)];
    for (const j of junk) sock.send(j);
    for (let i = 0; i < 5; i++) {
      const raw = await TestSocket.open(wsUrl(s.url, conv));
      raw.ws.send(Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256))));
      raw.terminate();
    }
    sock.send({ type: 'ping', id: 'alive' });
    await sock.waitFor((f) => f.type === 'pong' && f.id === 'alive');
    expect(s.child.exitCode).toBeNull();
    sock.close();
  });
});
