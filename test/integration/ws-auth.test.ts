// WebSocket admission and first-message auth against the real server.
import { randomUUID } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { AUDIENCE, AUTH_ENV, ISSUER, token, unsignedToken } from '../helpers/tokens.js';
import { connectReady, createConversation, TestSocket, wsUrl } from '../helpers/ws-client.js';

const { s, tdb } = useServer('ws-auth', { AUTH_TIMEOUT_MS: '700', MAX_PENDING_PER_IP: '3', MAX_CONNECTIONS_PER_USER: '3', WS_RATE_PER_SEC: '5', WS_RATE_BURST: '10', AGENT_TOKEN_DELAY_MS: '0' }, 'wsauth');
let conv: string;

beforeAll(async () => {
  conv = await createConversation(s.url, await token('alice'));
});

async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  try {
    const sock = await TestSocket.open(url, headers);
    sock.close();
    throw new Error('upgrade was accepted');
  } catch (err) {
    return err as { status: number; body: string };
  }
}

async function authClose(frame: unknown, c = conv): Promise<{ code: number; reason: string }> {
  const sock = await TestSocket.open(wsUrl(s.url, c));
  sock.send(frame);
  return sock.closedWithin();
}

describe('upgrade', () => {
  it('refuses a malformed conversation id with 400', async () => {
    const r = await refused(wsUrl(s.url, 'not-a-uuid'));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toMatch(/UUID/);
  });

  it('refuses a token in the query string with 400 saying where tokens go', async () => {
    const r = await refused(`${wsUrl(s.url, conv)}?token=${await token('alice')}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toMatch(/first message/);
  });

  it('refuses a cross-origin upgrade with 403 and accepts localhost and same-host origins', async () => {
    expect((await refused(wsUrl(s.url, conv), { origin: 'https://evil.example' })).status).toBe(403);
    for (const origin of ['http://localhost:3000', `http://127.0.0.1:${s.port}`]) {
      const sock = await TestSocket.open(wsUrl(s.url, conv), { origin });
      sock.close();
    }
  });

  it('answers 429 past MAX_PENDING_PER_IP unauthenticated sockets, and frees the slot on auth', async () => {
    const pending = await Promise.all([1, 2, 3].map(() => TestSocket.open(wsUrl(s.url, conv))));
    expect((await refused(wsUrl(s.url, conv))).status).toBe(429);
    // without TRUSTED_PROXIES a client's X-Forwarded-For is not believed
    expect((await refused(wsUrl(s.url, conv), { 'x-forwarded-for': '198.51.100.77' })).status).toBe(429);
    pending[0]!.send({ type: 'auth', token: await token('alice') });
    await pending[0]!.type('ready');
    const fourth = await TestSocket.open(wsUrl(s.url, conv));
    for (const p of [...pending, fourth]) p.close();
  });
});

describe('first-message auth', () => {
  it('sends ready with last_seq, heartbeat_ms and no run', async () => {
    const { sock, ready } = await connectReady(s.url, conv, await token('alice'));
    expect(ready).toMatchObject({ conversation_id: conv, user_id: 'alice', last_seq: 0, active_run: null, heartbeat_ms: 30000, protocol: 1 });
    expect(ready.session_id).toMatch(/^[\w-]{12}$/);
    sock.close();
  });

  it('closes 4401 for forged, expired, unsigned, confused and wrong-audience tokens', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(rsa.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const base = () => new SignJWT({}).setSubject('alice').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now + 600);
    const bad = {
      forged: await token('alice', { secret: 'not-the-server-secret-0123456789abcdef' }),
      expired: await token('alice', { expiresIn: -30 }),
      'alg none': unsignedToken('alice'),
      'RS256 on HMAC server': await base().setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey),
      'HS256 keyed with a public key': await base().setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem)),
      'wrong audience': await token('alice', { audience: 'another-app' }),
    };
    for (const [name, t] of Object.entries(bad)) {
      const c = await authClose({ type: 'auth', token: t });
      expect(c.code, name).toBe(4401);
    }
  });

  it('closes 4401 when user_id differs from the token sub', async () => {
    const c = await authClose({ type: 'auth', token: await token('mallory'), user_id: 'alice' });
    expect(c).toEqual({ code: 4401, reason: 'user_id does not match the token' });
  });

  it("closes 4404 for another user's conversation exactly as for a missing one", async () => {
    const theirs = await authClose({ type: 'auth', token: await token('bob') });
    const missing = await authClose({ type: 'auth', token: await token('bob') }, randomUUID());
    expect(theirs).toEqual({ code: 4404, reason: 'conversation not found' });
    expect(missing).toEqual(theirs);
  });

  it('closes 4400 for anything but auth first: ping, message, non-JSON, binary', async () => {
    expect((await authClose({ type: 'ping', id: 1 })).code).toBe(4400);
    expect((await authClose({ type: 'message', client_msg_id: randomUUID(), content: 'hi' })).code).toBe(4400);
    expect((await authClose('hello')).code).toBe(4400);
    const sock = await TestSocket.open(wsUrl(s.url, conv));
    sock.ws.send(Buffer.from([1, 2, 3]));
    expect((await sock.closedWithin()).code).toBe(4400);
  });

  it('closes a silent socket with 4408 at the deadline; protocol pings do not extend it', async () => {
    const sock = await TestSocket.open(wsUrl(s.url, conv));
    const t0 = Date.now();
    const pinger = setInterval(() => sock.ws.ping(), 100);
    const c = await sock.closedWithin();
    clearInterval(pinger);
    expect(c.code).toBe(4408);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
  });

  it('allows one auth: a second one is answered with an error and the session stays', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice'));
    sock.send({ type: 'auth', token: await token('alice') });
    const err = await sock.type('error');
    expect(err.message).toMatch(/already authenticated/);
    sock.send({ type: 'ping', id: 'p1' });
    expect((await sock.type('pong')).id).toBe('p1');
    sock.close();
  });

  it('caps connections per user with 4429', async () => {
    const t = await token('capped');
    const c2 = await createConversation(s.url, t);
    const open = await Promise.all([1, 2, 3].map(async () => (await connectReady(s.url, c2, t)).sock));
    const extra = await TestSocket.open(wsUrl(s.url, c2));
    extra.send({ type: 'auth', token: t });
    expect((await extra.closedWithin()).code).toBe(4429);
    for (const o of open) o.close();
  });
});

describe('token lifetime', () => {
  it('closes 4401 when the token expires on an open socket', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice', { expiresIn: 2 }));
    const c = await sock.closedWithin();
    expect(c.code).toBe(4401);
    expect(c.reason).toMatch(/expired/);
  });

  it('keeps the socket open past the old expiry after a reauth for the same user', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice', { expiresIn: 2 }));
    sock.send({ type: 'reauth', token: await token('alice', { expiresIn: 600 }) });
    await new Promise((r) => setTimeout(r, 3200));
    sock.send({ type: 'ping', id: 'still-here' });
    expect((await sock.waitFor((f) => f.type === 'pong' && f.id === 'still-here')).id).toBe('still-here');
    sock.close();
  });

  it('closes 4401 on a reauth for another user', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice'));
    sock.send({ type: 'reauth', token: await token('bob') });
    expect((await sock.closedWithin()).code).toBe(4401);
  });
});

describe('bad frames after auth', () => {
  it('answers invalid JSON, unknown types and wrong fields with an error naming the problem, storing nothing', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice'));
    const before = (await tdb.db.sql`SELECT count(*)::int AS n FROM messages`)[0]!.n as number;
    sock.send('{not json');
    expect((await sock.type('error')).message).toBe('frame is not valid JSON');
    sock.send({ type: 'shout' });
    expect((await sock.waitFor((f) => f.type === 'error' && /unknown frame type/.test(f.message))).code).toBe('invalid_request');
    sock.send({ type: 'message', client_msg_id: 'nope', content: '' });
    const e = await sock.waitFor((f) => f.type === 'error' && f.issues?.some((i: { path: string }) => i.path === 'frame.content'));
    expect(e.issues.map((i: { path: string }) => i.path).sort()).toEqual(['frame.client_msg_id', 'frame.content']);
    sock.ws.send(Buffer.from('binary'));
    await sock.waitFor((f) => f.type === 'error' && /binary/.test(f.message));
    sock.send({ type: 'ping', id: 1 });
    await sock.type('pong');
    expect((await tdb.db.sql`SELECT count(*)::int AS n FROM messages`)[0]!.n).toBe(before);
    sock.close();
  });

  it('closes 1009 for a frame over 64 KiB', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice'));
    sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'x'.repeat(70_000) });
    expect((await sock.closedWithin()).code).toBe(1009);
  });

  it('warns with a recoverable error, then closes 4429 a socket that keeps flooding', async () => {
    const { sock } = await connectReady(s.url, conv, await token('alice'));
    for (let i = 0; i < 40; i++) sock.send({ type: 'ping', id: i });
    const c = await sock.closedWithin();
    expect(sock.ofType('error').filter((e) => e.code === 'rate_limited')).toHaveLength(1);
    expect(c.code).toBe(4429);
  });
});
