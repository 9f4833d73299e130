// A reader that stops reading must not make the server buffer without bound: past
// WS_MAX_BUFFERED_BYTES its socket is closed with 1013, and it resumes from last_seq.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';

const { s, tdb } = useServer('backpressure', { AGENT: 'none', WS_MAX_BUFFERED_BYTES: '65536', WS_RATE_PER_SEC: '10000', WS_RATE_BURST: '10000', USER_MESSAGE_RATE_PER_SEC: '10000', USER_MESSAGE_BURST: '10000' }, 'backpressure');

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
    const closed = await slow.sock.closedWithin(20_000);
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

describe('per-user message limit', () => {
  it('refuses messages past the burst with a recoverable error (nothing stored), then closes 4429 if they keep coming', async () => {
    const limited = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT: 'none', USER_MESSAGE_RATE_PER_SEC: '0.1', USER_MESSAGE_BURST: '5' }, 'user-limit');
    try {
      const carol = await token('carol');
      const conv = await createConversation(limited.url, carol);
      const a = await connectReady(limited.url, conv, carol);
      const b = await connectReady(limited.url, conv, carol);
      for (let i = 0; i < 5; i++) a.sock.send({ type: 'message', client_msg_id: randomUUID(), content: `m${i}` });
      await a.sock.waitFor(() => a.sock.ofType('ack').length === 5);
      b.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'one too many' }); // the limit is per user, across sockets
      const err = await b.sock.waitFor((f) => f.type === 'error' && f.code === 'rate_limited');
      expect(err.message).toMatch(/message not stored/);
      const n = async () => (await tdb.db.sql`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ${conv}`)[0]!.n;
      expect(await n()).toBe(5);
      for (let i = 0; i < 10; i++) b.sock.send({ type: 'message', client_msg_id: randomUUID(), content: `flood ${i}` });
      expect((await b.sock.closedWithin()).code).toBe(4429);
      expect(await n()).toBe(5);
      a.sock.close();
    } finally {
      await limited.stop();
    }
  });
});
