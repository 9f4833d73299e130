// A user message whose INSERT committed but whose reply was lost (the network to the
// database cut right after the commit): the client is told to retry, retries with the same
// client_msg_id on another replica, and that retry must both be acked as the same message
// and get the message answered, once. Two replicas on one PostgreSQL the suite owns;
// replica A reaches it through a proxy the test cuts.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resumeAndRead } from '../helpers/fault-clients.js';
import { faultPostgresAvailable, startMigratedFaultPostgres, type FaultPostgres } from '../helpers/fault-pg.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { skipOrFail } from '../helpers/skip.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';
import { assemble, readChunks, textOf, transport, userMessage } from '../helpers/ui-chat.js';
import { connectReady, createConversation, type Frame } from '../helpers/ws-client.js';

const ENV = { ...AUTH_ENV, AGENT_TOKEN_DELAY_MS: '5', HEALTH_DB_TIMEOUT_MS: '1000' };
const skip = skipOrFail(faultPostgresAvailable(), (r) => `the lost-ack fault suite cannot run under CI: ${r}`);

type Sql = postgres.Sql<Record<string, never>>;
let pg: FaultPostgres;
let admin: Sql;
let locker: Sql;
let proxy: TcpProxy;
let a: ServerProcess;
let b: ServerProcess;
let alice: string;

describe.skipIf(skip !== undefined)('a user message whose stored reply was lost', () => {
  beforeAll(async () => {
    pg = await startMigratedFaultPostgres();
    admin = postgres(pg.url, { max: 2, onnotice: () => undefined }) as unknown as Sql;
    locker = postgres(pg.url, { max: 1, onnotice: () => undefined }) as unknown as Sql;
    proxy = await startTcpProxy('127.0.0.1', pg.port);
    a = await startServer({ ...ENV, DATABASE_URL: `postgres://postgres:fault@127.0.0.1:${proxy.port}/chat_backend` }, 'lost-ack-a');
    b = await startServer({ ...ENV, DATABASE_URL: pg.url }, 'lost-ack-b');
    alice = await token('alice');
  }, 120_000);

  afterEach(() => {
    proxy.resume();
    expect({ code: a.child.exitCode, signal: a.child.signalCode }, a.stderr()).toEqual({ code: null, signal: null });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await admin?.end();
    await locker?.end();
    await pg?.destroy();
  });

  // Sends the conversation's first message through replica A so that its INSERT commits
  // and the reply is lost: the INSERT held at the conversation's row lock, the replies from
  // PostgreSQL to A held, the lock released, and A's connections cut once the row is there.
  async function loseReply<T>(conv: string, send: () => T): Promise<T> {
    await locker.unsafe(`BEGIN; SELECT 1 FROM conversations WHERE id = '${conv}' FOR UPDATE`);
    const sent = send();
    await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO messages%'`)[0]!.n, { timeout: 20_000, interval: 50 }).toBe(1);
    proxy.stall();
    await locker.unsafe('COMMIT');
    await expect.poll(async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ${conv}`)[0]!.n,
      { timeout: 20_000, interval: 50 }).toBe(1);
    proxy.cut();
    return sent;
  }

  it('is acked as the same message on retry and answered exactly once', async () => {
    const conv = await createConversation(a.url, alice);
    const { sock: onA } = await connectReady(a.url, conv, alice);
    const id = randomUUID();
    const send = (sock: typeof onA, clientMsgId: string, content: string) => sock.send({ type: 'message', client_msg_id: clientMsgId, content });

    await loseReply(conv, () => send(onA, id, 'What is a kettle for?'));
    const lost = await onA.waitFor((f) => f.type === 'error' && f.client_msg_id === id, 20_000);
    expect(lost.code).toBe('unavailable');
    expect(onA.frames.some((f) => f.type === 'ack')).toBe(false);
    proxy.resume();

    // The client retries on the other replica: the same message, and now its answer.
    const { sock: onB } = await connectReady(b.url, conv, alice);
    send(onB, id, 'What is a kettle for?');
    const ack = await onB.waitFor((f) => f.type === 'ack' && f.client_msg_id === id, 20_000);
    const [user] = await admin<{ id: string; seq: string }[]>`SELECT id, seq FROM messages WHERE client_msg_id = ${id}`;
    expect(ack).toMatchObject({ duplicate: true, message_id: user!.id, seq: Number(user!.seq) });
    const started = await onB.waitFor((f) => f.type === 'run.started', 30_000);
    await onB.waitFor((f) => f.type === 'response.completed' && f.run_id === started.run_id, 60_000);

    // Retried again once answered: acked, no second run. Runs of a conversation go in order
    // on a replica, so once the next message's answer is done, any run the retry had
    // started would have stored its row first.
    send(onB, id, 'What is a kettle for?');
    await onB.waitFor((f) => f.type === 'ack' && f.client_msg_id === id, 20_000, onB.frames.indexOf(ack) + 1);
    const next = randomUUID();
    send(onB, next, 'And a teapot?');
    const nextAck = await onB.waitFor((f) => f.type === 'ack' && f.client_msg_id === next, 20_000);
    const second = await onB.waitFor((f) => f.type === 'run.started' && f.run_id !== started.run_id, 30_000);
    await onB.waitFor((f) => f.type === 'response.completed' && f.run_id === second.run_id, 60_000);
    expect(onB.frames.filter((f) => f.type === 'run.started')).toHaveLength(2);

    const rows = await admin<{ seq: string; role: string; status: string; content: string; client_msg_id: string | null; reply_to: string | null }[]>`
      SELECT seq, role, status, content, client_msg_id, reply_to FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
    expect(rows.map((r) => [Number(r.seq), r.role, r.status, r.client_msg_id, r.reply_to === null ? null : Number(r.reply_to)])).toEqual([
      [1, 'user', 'complete', id, null],
      [2, 'assistant', 'complete', null, 1],
      [Number(nextAck.seq), 'user', 'complete', next, null],
      [4, 'assistant', 'complete', null, 3],
    ]);
    // What the client (both its sockets) was told, after a final resume, is what is stored.
    const frames: Frame[] = [...onA.frames, ...onB.frames];
    onA.close();
    onB.close();
    const told = await resumeAndRead(b.url, conv, alice, frames);
    expect(told).toEqual(rows.map((r) => ({ seq: Number(r.seq), role: r.role, status: r.status, content: r.content })));
    for (const s of [a, b]) expect({ code: s.child.exitCode, signal: s.child.signalCode }, s.stderr()).toEqual({ code: null, signal: null });
  }, 180_000);

  it('the same over the UI message stream: the retried POST streams the answer, stored once', async () => {
    const conv = await createConversation(a.url, alice);
    const msg = userMessage('What is a kettle for?');
    const body = JSON.stringify({ id: conv, messages: [msg], trigger: 'submit-message' });
    const first = await loseReply(conv, () => fetch(`${a.url}/api/v1/chat`, { method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' }, body }));
    expect((await first).status).toBe(503);
    proxy.resume();
    const chunks = await readChunks(await transport(b.url, alice).sendMessages({ chatId: conv, messages: [msg], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }));
    const answer = textOf(await assemble(chunks));
    expect(answer).not.toBe('');
    const rows = await admin<{ seq: string; role: string; status: string; content: string; reply_to: string | null }[]>`
      SELECT seq, role, status, content, reply_to FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
    expect(rows.map((r) => [Number(r.seq), r.role, r.status, r.reply_to === null ? null : Number(r.reply_to)])).toEqual([
      [1, 'user', 'complete', null],
      [2, 'assistant', 'complete', 1],
    ]);
    expect(rows[1]!.content).toBe(answer);
  }, 120_000);
});
