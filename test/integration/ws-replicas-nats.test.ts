// Three server processes on one database with BUS=nats and a real nats-server: answers
// run on one replica reach sockets on the others, a replica with no socket in a
// conversation receives none of its events (counted on its /metrics), cancel and presence
// cross replicas, and answers survive nats-server restarting and a replica's link being
// cut mid-answer. Bad bus configuration fails start naming the variable.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort, natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { assembleAnswer, connectReady, createConversation, type Frame, type TestSocket } from '../helpers/ws-client.js';

const { bin, skip } = natsServerBinary();
const LONG = 'Describe a long walk through an old forest at dawn';

// Sum of a counter over all its label sets, from a replica's /metrics.
async function counter(s: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

// The answer as the database holds it once finished.
async function storedAnswer(db: Db, conv: string): Promise<{ content: string; status: string }> {
  const rows = await db.sql<{ content: string; status: string }[]>`SELECT content, status FROM messages WHERE conversation_id = ${conv} AND role = 'assistant' ORDER BY seq DESC LIMIT 1`;
  return rows[0]!;
}

// The final text a socket learnt: from response.completed, or from the stored message a
// resync re-read.
async function finalText(sock: TestSocket, timeoutMs = 30_000): Promise<{ text: string; frame: Frame }> {
  const f = await sock.waitFor((x) => x.type === 'response.completed' || (x.type === 'message' && x.message.role === 'assistant' && x.message.status === 'complete'), timeoutMs);
  return { text: f.type === 'response.completed' ? f.content : f.message.content, frame: f };
}

describe.skipIf(skip !== undefined)(`replicas on the NATS bus${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 90_000 }, () => {
  let tdb: TestDatabase & { db: Db };
  let nats: NatsServer;
  let proxy: TcpProxy;
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess; // reaches NATS through a proxy the tests cut
  let alice: string;

  beforeAll(async () => {
    tdb = await createMigratedDatabase('replicas_nats');
    nats = await startNatsServer(bin!);
    proxy = await startTcpProxy('127.0.0.1', nats.port);
    const env = { ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '20', BUS: 'nats', NATS_URL: nats.url };
    [a, b, c] = await Promise.all([
      startServer(env, 'nats-replica-a'),
      startServer(env, 'nats-replica-b'),
      startServer({ ...env, NATS_URL: `nats://127.0.0.1:${proxy.port}` }, 'nats-replica-c'),
    ]);
    alice = await token('alice');
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await proxy?.close();
    await nats?.stop();
    await tdb?.drop();
  });

  it('deliver a run executed on B, typing and presence to a socket on A; C, with no socket there, receives none of it', async () => {
    const cBefore = await counter(c, 'chat_bus_received_total');
    const aBefore = await counter(a, 'chat_bus_received_total');
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    const presence = await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 2);
    expect(presence.sessions.map((x: { session_id: string }) => x.session_id).sort()).toEqual([onA.ready.session_id, onB.ready.session_id].sort());
    onB.sock.send({ type: 'typing', state: 'start' });
    expect((await onA.sock.type('typing')).session_id).toBe(onB.ready.session_id);

    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What is 2^10?' });
    const done = await onA.sock.type('response.completed', 0, 20_000);
    expect(done.content).toContain('1024');
    expect(onA.sock.ofType('tool.call')).toHaveLength(1);
    expect(assembleAnswer(onA.sock.frames, done.run_id)).toBe(done.content);
    onB.sock.close();
    await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 1);
    onA.sock.close();

    const deltas = onA.sock.ofType('response.delta').length;
    expect(deltas).toBeGreaterThan(0);
    expect((await counter(a, 'chat_bus_received_total')) - aBefore).toBeGreaterThanOrEqual(deltas);
    // C heard nothing of the conversation: not one event, per-token or otherwise.
    expect((await counter(c, 'chat_bus_received_total')) - cBefore).toBe(0);
  });

  it('give a socket joining on A mid-run (run on B) an exact snapshot, then live deltas', async () => {
    const conv = await createConversation(a.url, alice);
    const onB = await connectReady(b.url, conv, alice);
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: LONG });
    await onB.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 30, 15_000);
    const late = await connectReady(a.url, conv, alice, { last_seq: 0 });
    expect(late.ready.active_run).not.toBeNull();
    const done = await late.sock.type('response.completed', 0, 30_000);
    expect(late.sock.ofType('run.snapshot').length).toBeGreaterThanOrEqual(1);
    expect(assembleAnswer(late.sock.frames, done.run_id)).toBe(done.content);
    onB.sock.close();
    late.sock.close();
  });

  it('cancel from A stops the answer running on B', async () => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: LONG });
    const first = await onA.sock.waitFor((f) => f.type === 'response.delta', 15_000);
    onA.sock.send({ type: 'cancel', run_id: first.run_id });
    const failed = await onB.sock.waitFor((f) => f.type === 'run.failed', 15_000);
    expect(failed.code).toBe('cancelled');
    expect((await onA.sock.waitFor((f) => f.type === 'run.failed', 15_000)).code).toBe('cancelled');
    expect((await storedAnswer(tdb.db, conv)).status).toBe('cancelled');
    onA.sock.close();
    onB.sock.close();
  });

  it('an answer running on B while nats-server restarts reaches A whole', async () => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    // An answer of several seconds (the built-in agent echoes the question): the restart,
    // the reconnects (1–1.5 s wait) and the re-read must fit inside it even on a loaded
    // machine, or the live deltas checked below end before they could recover.
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: Array.from({ length: 30 }, () => LONG).join(' ') });
    await onA.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 20, 15_000);
    await nats.restart();
    const { text, frame } = await finalText(onA.sock);
    const stored = await storedAnswer(tdb.db, conv);
    expect(stored.status).toBe('complete');
    expect(text).toBe(stored.content);
    // on failure, both servers' logs say which resync or hint went missing
    const logs = () => `A:\n${a.lines.join('\n')}\nB:\n${b.lines.join('\n')}`;
    if (frame.type === 'response.completed') expect(assembleAnswer(onA.sock.frames, frame.run_id), logs()).toBe(stored.content);
    expect(a.lines.some((l) => l.includes('NATS bus reconnected'))).toBe(true);
    onA.sock.close();
    onB.sock.close();
  });

  it('an answer running on C while C\'s link to NATS is cut and restored reaches A whole', async () => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onC = await connectReady(c.url, conv, alice);
    onC.sock.send({ type: 'message', client_msg_id: randomUUID(), content: LONG });
    await onA.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 20, 15_000);
    expect(proxy.cut()).toBeGreaterThan(0);
    const cutAt = onA.sock.frames.length;
    // C keeps streaming to its own socket meanwhile
    const lastOnC = onC.sock.ofType('response.delta').at(-1)!.offset as number;
    await onC.sock.waitFor((f) => f.type === 'response.delta' && f.offset > lastOnC + 20, 15_000);
    proxy.resume();
    const { text, frame } = await finalText(onA.sock);
    const stored = await storedAnswer(tdb.db, conv);
    expect(stored.status).toBe('complete');
    expect(text).toBe(stored.content);
    // C publishes a snapshot of the answer as soon as its link is back, ahead of its next
    // token, so the deltas are whole even when the answer ends before A's own re-read
    // could bring one. On failure: what A got after the cut (d = delta, S = snapshot,
    // m = stored message) and both servers' logs.
    const got = () => onA.sock.frames.slice(cutAt).map((f) => (f.type === 'response.delta' ? `d${f.offset}` : f.type === 'run.snapshot' ? `S${f.offset}` : f.type === 'message' ? `m${f.message.status}:${f.message.content.length}` : f.type)).join(' ');
    const logs = () => `after the cut, A got: ${got()}\nA:\n${a.lines.join('\n')}\nC:\n${c.lines.join('\n')}`;
    if (frame.type === 'response.completed') expect(assembleAnswer(onA.sock.frames, frame.run_id), logs()).toBe(stored.content);
    expect(onA.sock.frames.length).toBeGreaterThan(cutAt);
    expect(c.lines.some((l) => l.includes('NATS bus reconnected'))).toBe(true);
    onA.sock.close();
    onC.sock.close();
  });
});

describe('bus configuration that must fail at start', () => {
  it('BUS=nats without NATS_URL names NATS_URL', async () => {
    const r = await runCli(['serve'], { ...AUTH_ENV, BUS: 'nats' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NATS_URL=unset: expected a nats:// URL when BUS=nats');
  });

  it('an unreachable NATS_URL names NATS_URL, before touching the database', async () => {
    const port = await freePort();
    const r = await runCli(['serve'], { ...AUTH_ENV, BUS: 'nats', NATS_URL: `nats://127.0.0.1:${port}`, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`chat-backend: NATS_URL=nats://127.0.0.1:${port}: cannot connect to NATS`));
  });

  it('a malformed NATS_URL names it', async () => {
    const r = await runCli(['serve'], { ...AUTH_ENV, BUS: 'nats', NATS_URL: 'http://nats:4222' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NATS_URL=<redacted>: expected a comma list of nats:// or tls:// URLs');
  });
});
