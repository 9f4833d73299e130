// Two server processes on one database: what happens on one replica reaches sockets on
// the other through LISTEN/NOTIFY, including after the listening connections are killed.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricValue, type ServerProcess } from '../helpers/server.js';
import { useServers } from '../helpers/use-server.js';
import { token } from '../helpers/tokens.js';
import { assembleAnswer, connectReady, createConversation } from '../helpers/ws-client.js';

const { servers: [a, b], tdb } = useServers(['replica-a', 'replica-b'], { AGENT_TOKEN_DELAY_MS: '20' }, 'replicas');
let alice: string;

beforeAll(async () => {
  alice = await token('alice');
});

describe('two replicas', () => {
  it('deliver the run executed on B, typing and presence to a socket on A', async () => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    const presence = await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 2);
    expect(presence.sessions.map((x: { session_id: string }) => x.session_id).sort()).toEqual([onA.ready.session_id, onB.ready.session_id].sort());
    onB.sock.send({ type: 'typing', state: 'start' });
    expect((await onA.sock.type('typing')).session_id).toBe(onB.ready.session_id);

    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What is 2^10?' });
    const done = await onA.sock.type('response.completed', 0, 20_000);
    expect(onA.sock.ofType('message').map((m) => m.message.seq)).toEqual(expect.arrayContaining([1, 2]));
    expect(onA.sock.ofType('tool.call')).toHaveLength(1);
    expect(done.content).toContain('1024');
    expect(assembleAnswer(onA.sock.frames, done.run_id)).toBe(done.content);
    onB.sock.close();
    await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 1);
    onA.sock.close();
  });

  it('send per-token frames only to a replica with sockets in the conversation', async () => {
    const deltasIn = (s: ServerProcess) => metricValue(s, 'chat_bus_received_total', { bus: 'postgres', kind: 'response.delta' });
    const deltasOut = (s: ServerProcess) => metricValue(s, 'chat_bus_published_total', { bus: 'postgres', kind: 'response.delta' });
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const [bIn0, aOut0] = [await deltasIn(b), await deltasOut(a)];
    onA.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'Tell me about the sea in a few sentences' });
    const first = await onA.sock.type('response.completed', 0, 20_000);
    expect(assembleAnswer(onA.sock.frames, first.run_id)).toBe(first.content);
    // A alone watches the conversation: not one delta crossed to B.
    expect(await deltasOut(a)).toBe(aOut0);
    expect(await deltasIn(b)).toBe(bIn0);

    const onB = await connectReady(b.url, conv, alice);
    await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 2);
    onA.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'And about rivers, please' });
    const second = await onB.sock.type('response.completed', 0, 20_000);
    expect(assembleAnswer(onB.sock.frames, second.run_id)).toBe(second.content);
    expect(onB.sock.ofType('response.delta').length).toBeGreaterThan(0);
    expect(await deltasIn(b)).toBeGreaterThan(bIn0);
    onA.sock.close();
    onB.sock.close();
  });

  it('give a socket joining on A mid-run (run on B) an exact snapshot, then live deltas', async () => {
    const conv = await createConversation(a.url, alice);
    const onB = await connectReady(b.url, conv, alice);
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'Describe a long walk through an old forest at dawn' });
    await onB.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 30, 15_000);
    const late = await connectReady(a.url, conv, alice, { last_seq: 0 });
    expect(late.ready.active_run).not.toBeNull();
    const done = await late.sock.type('response.completed', 0, 20_000);
    expect(late.sock.ofType('run.snapshot')).toHaveLength(1);
    expect(assembleAnswer(late.sock.frames, done.run_id)).toBe(done.content);
    onB.sock.close();
    late.sock.close();
  });

  it('recover when the listening connections are killed with pg_terminate_backend', async () => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    const killed = await tdb.db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-backend-listener' AND datname = current_database()`;
    expect(killed.length).toBe(2);
    // Sent while A's listener may still be down: A must re-read it after reconnecting.
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What is 7*6?' });
    const final = await onA.sock.waitFor((f) => (f.type === 'response.completed') || (f.type === 'message' && f.message.seq === 2 && f.message.status === 'complete'), 20_000);
    const content = final.type === 'response.completed' ? final.content : final.message.content;
    expect(content).toContain('42');
    expect(onA.sock.ofType('message').some((m) => m.message.seq === 1)).toBe(true);
    await expect.poll(async () => (await tdb.db.sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'chat-backend-listener' AND datname = current_database()`)[0]!.n, { timeout: 10_000 }).toBe(2);
    onA.sock.close();
    onB.sock.close();
  });
});
