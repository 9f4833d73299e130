// A reader that stops reading must not make the server buffer without bound: past
// WS_MAX_BUFFERED_BYTES its socket is closed with 1013, and it resumes from last_seq.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';

let tdb: TestDatabase & { db: Db };
let s: ServerProcess;

beforeAll(async () => {
  tdb = await createMigratedDatabase('backpressure');
  s = await startServer({
    ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT: 'none', WS_MAX_BUFFERED_BYTES: '65536',
    WS_RATE_PER_SEC: '10000', WS_RATE_BURST: '10000', USER_MESSAGE_RATE_PER_SEC: '10000', USER_MESSAGE_BURST: '10000',
  }, 'backpressure');
});

afterAll(async () => {
  await s?.stop();
  await tdb?.drop();
});

describe('slow reader', () => {
  it('is closed with 1013 instead of growing server memory, then resumes from last_seq', async () => {
    const alice = await token('alice');
    const conv = await createConversation(s.url, alice);
    const slow = await connectReady(s.url, conv, alice);
    const fast = await connectReady(s.url, conv, alice);
    const raw = (slow.sock.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause(); // stop reading: the kernel buffers fill, then uWS's
    const big = 'y'.repeat(30_000);
    const total = 500; // ~15 MB for the slow reader, far beyond socket buffers
    for (let i = 0; i < total; i++) fast.sock.send({ type: 'message', client_msg_id: randomUUID(), content: `${i} ${big}` });
    await fast.sock.waitFor(() => fast.sock.ofType('ack').length === total, 60_000);
    raw.resume();
    const closed = await slow.sock.closed;
    expect([1013, 1006]).toContain(closed.code); // 1006 if the close frame could not be flushed in time
    const received = slow.sock.ofType('message').length;
    expect(received).toBeLessThan(total);
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/chat_ws_frames_total\{direction="out",type="message"\} \d+/);

    const lastSeq = Math.max(0, ...slow.sock.ofType('message').map((m) => m.message.seq as number));
    const again = await connectReady(s.url, conv, alice, { last_seq: lastSeq });
    await again.sock.waitFor(() => again.sock.ofType('message').length === total - lastSeq, 30_000);
    const seqs = again.sock.ofType('message').map((m) => m.message.seq as number);
    expect(seqs).toEqual(Array.from({ length: total - lastSeq }, (_, i) => lastSeq + i + 1));
    again.sock.close();
    fast.sock.close();
  }, 120_000);
});
