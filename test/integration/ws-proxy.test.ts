// Behind an ingress every socket comes from the ingress: with TRUSTED_PROXIES the
// per-address admission limit counts the client named in X-Forwarded-For instead, and a
// client cannot buy itself a fresh budget by writing its own X-Forwarded-For entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { token } from '../helpers/tokens.js';
import { createConversation, TestSocket, wsUrl } from '../helpers/ws-client.js';

// the test client connects from 127.0.0.1, so it plays the ingress
const { s } = useServer('ws-proxy', { MAX_PENDING_PER_IP: '2', TRUSTED_PROXIES: '127.0.0.1,::1', AUTH_TIMEOUT_MS: '60000' }, 'wsproxy');
let conv: string;
const open: TestSocket[] = [];

beforeAll(async () => {
  conv = await createConversation(s.url, await token('alice'));
});

afterAll(async () => {
  for (const sock of open) sock.close();
});

async function pending(forwardedFor: string): Promise<number> {
  try {
    open.push(await TestSocket.open(wsUrl(s.url, conv), { 'x-forwarded-for': forwardedFor }));
    return 101;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

describe('TRUSTED_PROXIES', () => {
  it('counts pending sockets per forwarded client, not per ingress', async () => {
    expect([await pending('198.51.100.1'), await pending('198.51.100.1')]).toEqual([101, 101]);
    expect(await pending('198.51.100.1')).toBe(429);
    // other clients behind the same ingress still get in
    expect([await pending('198.51.100.2'), await pending('2001:db8::7')]).toEqual([101, 101]);
  });

  it('ignores what the client wrote left of the address the ingress saw', async () => {
    // a trusted ingress appends the real peer; the forged entries before it change nothing
    expect(await pending('203.0.113.50, 198.51.100.1')).toBe(429);
    expect(await pending('garbage, 198.51.100.1')).toBe(429);
  });

  it('authenticates a forwarded socket as usual and frees its slot', async () => {
    const sock = open.find(Boolean)!; // the first of 198.51.100.1's two
    sock.send({ type: 'auth', token: await token('alice') });
    await sock.type('ready');
    expect(await pending('198.51.100.1')).toBe(101);
  });
});
