// An answer that ends while the database is away: its end is stored once the database is
// back, and only then told to clients. A client that joined in between (after the outage,
// before the stored end) got the row as it stood, the text saved before the outage only,
// and no snapshot (the run was over). The terminal frame must therefore carry the stored
// text: what such a client is told is what the row holds, without a later resume.
// (Found by the real-node suite: after a PostgreSQL pod restart, clients that reconnected
// ended with transcripts shorter than the stored ones.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feed } from '../helpers/fault-clients.js';
import { Transcript } from '../../src/client/transcript.js';
import { createMigratedDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { connectReady, createConversation, type TestSocket } from '../helpers/ws-client.js';

const PROMPT = 'Describe a long walk through an old forest at dawn, in detail';

describe('an answer that ends during a database outage', () => {
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let alice: string;

  beforeAll(async () => {
    database = await createMigratedDatabase('outage_end');
    const u = new URL(database.url);
    proxy = await startTcpProxy(u.hostname, Number(u.port));
    u.host = `127.0.0.1:${proxy.port}`;
    server = await startServer({ ...AUTH_ENV, DATABASE_URL: u.toString(), AGENT_TOKEN_DELAY_MS: '20', HEALTH_DB_TIMEOUT_MS: '1000' }, 'outage-end');
    alice = await token('alice');
  });

  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await database?.drop();
  });

  // The retry log lines of the stored end, from line `from` on.
  const finishRetries = (from: number) =>
    server.lines.slice(from).filter((l) => l.includes('"msg":"storing the end of an answer failed; retrying"')).map((l) => (JSON.parse(l) as { attempt: number }).attempt);

  it('a client that joins before the end is stored is told the stored text, not the text saved before the outage', async () => {
    const conv = await createConversation(server.url, alice);
    const { sock: first } = await connectReady(server.url, conv, alice);
    const id = randomUUID();
    first.send({ type: 'message', client_msg_id: id, content: PROMPT });
    await first.waitFor((f) => f.type === 'ack' && f.client_msg_id === id, 10_000);
    const started = await first.type('run.started', 0, 10_000);
    await first.waitFor((f) => f.type === 'response.delta' && f.offset > 40, 20_000);

    const mark = server.lines.length;
    proxy.cut();
    // Text streams on while no flush can store it: the row now holds less than the run.
    const deltasAtCut = first.ofType('response.delta').length;
    await first.waitFor(() => first.ofType('response.delta').length >= deltasAtCut + 10, 10_000);
    first.send({ type: 'cancel', run_id: started.run_id });
    // The end waits out the outage; once its retry delay is seconds long, the database
    // comes back and a second client joins inside that delay.
    await expect.poll(() => finishRetries(mark).some((a) => a >= 4), { timeout: 30_000, interval: 100 }).toBe(true);
    proxy.resume();
    let second: TestSocket | undefined;
    for (let attempt = 1; second === undefined; attempt++) {
      try {
        second = (await connectReady(server.url, conv, alice, { last_seq: 0 })).sock;
      } catch (err) {
        // right after the outage a join may be refused as resumable while the pool reconnects
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const replayed = await second.waitFor((f) => f.type === 'message' && f.message.role === 'assistant', 10_000);
    await second.waitFor((f) => f.type === 'run.failed' || (f.type === 'message' && f.message.role === 'assistant' && f.message.status !== 'streaming'), 30_000);

    const [row] = await database.db.sql<{ status: string; content: string }[]>`SELECT status, content FROM messages WHERE conversation_id = ${conv} AND role = 'assistant'`;
    expect(row!.status).toBe('cancelled');
    // The join really fell in the window: the row it replayed was still streaming, shorter.
    expect(replayed.message.status).toBe('streaming');
    expect(replayed.message.content.length).toBeLessThan(row!.content.length);

    for (const sock of [first, second]) {
      const t = new Transcript(() => undefined);
      feed(t, sock.frames);
      const told = t.list().filter((m) => m.role === 'assistant').map((m) => ({ status: m.status, content: m.content }));
      expect(told).toEqual([{ status: row!.status, content: row!.content }]);
      sock.close();
    }
  }, 90_000);
});
