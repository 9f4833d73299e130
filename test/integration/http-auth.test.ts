// The HTTP auth layer against the real server: every way a bearer token can be wrong
// gets 401 with WWW-Authenticate and a JSON error; /ws and public paths are exempt.
import { generateKeyPair, exportJWK, exportSPKI, SignJWT, type CryptoKey } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUDIENCE, AUTH_ENV, bearer, ISSUER, SECRET, token, unsignedToken } from '../helpers/tokens.js';

let tdb: TestDatabase;
let hs: ServerProcess; // JWT_SECRET
let rs: ServerProcess; // JWT_PUBLIC_KEY (RSA)
let jw: ServerProcess; // JWT_JWKS_URL (EC P-256)
let rsaPrivate: CryptoKey;
let rsaPem: string;
let ecPrivate: CryptoKey;
let jwks: http.Server;

async function get(s: ServerProcess, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + path, { headers });
  return { status: res.status, www: res.headers.get('www-authenticate'), body: (await res.text()) };
}

function claimsFor(sub: string) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({}).setSubject(sub).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600);
}

beforeAll(async () => {
  tdb = await createTestDatabase('auth');
  const rsa = await generateKeyPair('RS256', { extractable: true });
  rsaPrivate = rsa.privateKey;
  rsaPem = await exportSPKI(rsa.publicKey);
  const ec = await generateKeyPair('ES256', { extractable: true });
  ecPrivate = ec.privateKey;
  const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  const common = { DATABASE_URL: tdb.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
  [hs, rs, jw] = await Promise.all([
    startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, JWT_ALGORITHMS: 'HS256,HS384' }, 'auth-hs'),
    startServer({ ...common, JWT_PUBLIC_KEY: rsaPem, MIGRATE_ON_START: 'true' }, 'auth-rs'),
    startServer({ ...common, JWT_JWKS_URL: jwksUrl }, 'auth-jwks'),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([hs?.stop(), rs?.stop(), jw?.stop()]);
  jwks?.close();
  await tdb?.drop();
});

describe('HS256 secret', () => {
  it('accepts a valid token and uses its sub as the user', async () => {
    const r = await get(hs, '/api/v1/conversations', bearer(await token('alice')));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ items: [], next_cursor: null });
  });

  const cases: [string, () => Promise<Record<string, string>>, RegExp][] = [
    ['missing header', async () => ({}), /missing Authorization/],
    ['wrong scheme', async () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), /Bearer <token>/],
    ['malformed token', async () => bearer('not-a-jwt'), /malformed/],
    ['three garbage segments', async () => bearer('aaa.bbb.ccc'), /malformed|invalid/],
    ['expired', async () => bearer(await token('alice', { expiresIn: -60 })), /expired/],
    ['not yet valid', async () => bearer(await token('alice', { notBefore: 600 })), /not yet valid/],
    ['wrong issuer', async () => bearer(await token('alice', { issuer: 'https://evil.test' })), /"iss"/],
    ['wrong audience', async () => bearer(await token('alice', { audience: 'other-app' })), /"aud"/],
    ['alg none', async () => bearer(unsignedToken('alice')), /not allowed|malformed|not supported/],
    ['algorithm outside the allow-list (HS512)', async () => bearer(await token('alice', { alg: 'HS512' })), /algorithm is not allowed/],
    ['bad signature', async () => bearer(await token('alice', { secret: SECRET + '-other' })), /signature/],
    ['tampered payload', async () => {
      const [h, , s] = (await token('alice')).split('.');
      const forged = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: 9999999999 })).toString('base64url');
      return bearer(`${h}.${forged}.${s}`);
    }, /signature/],
    ['no sub', async () => bearer(await token('alice', { omit: ['sub'] })), /"sub"/],
    ['no exp', async () => bearer(await token('alice', { omit: ['exp'] })), /"exp"/],
    ['RS256 token on an HMAC server', async () => bearer(await claimsFor('alice').setProtectedHeader({ alg: 'RS256' }).sign(rsaPrivate)), /not allowed/],
  ];
  for (const [name, headers, message] of cases) {
    it(`rejects ${name} with 401, WWW-Authenticate and a JSON error`, async () => {
      const r = await get(hs, '/api/v1/conversations', await headers());
      expect(r.status).toBe(401);
      expect(r.www).toMatch(/^Bearer realm="chat-backend"/);
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(message);
      if (name !== 'missing header') expect(r.www).toContain('error="invalid_token"');
    });
  }

  it('requires auth on unknown routes too, then answers 404', async () => {
    expect((await get(hs, '/api/v1/nope')).status).toBe(401);
    const r = await get(hs, '/api/v1/nope', bearer(await token('alice')));
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe('route_not_found');
  });

  it('lets every /ws path through the HTTP auth layer untouched', async () => {
    for (const p of ['/ws', '/ws/conversations/x', '/ws/anything/else']) {
      const r = await get(hs, p);
      expect(r.status, p).not.toBe(401);
      expect(r.www).toBeNull();
    }
  });

  it('serves the public paths without a token', async () => {
    for (const p of ['/', '/health', '/health/full', '/api/openapi.json', '/api/docs']) {
      expect((await get(hs, p)).status, p).toBe(200);
    }
  });
});

describe('RS256 public key', () => {
  it('accepts a token signed by the private key', async () => {
    const t = await claimsFor('bob').setProtectedHeader({ alg: 'RS256' }).sign(rsaPrivate);
    expect((await get(rs, '/api/v1/conversations', bearer(t))).status).toBe(200);
  });

  it('rejects HS256 signed with the public key as the HMAC secret (key confusion)', async () => {
    const forged = await claimsFor('bob').setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(rsaPem));
    const r = await get(rs, '/api/v1/conversations', bearer(forged));
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.message).toMatch(/not allowed/);
  });
});

describe('JWKS', () => {
  it('accepts a token whose kid is in the key set', async () => {
    const t = await claimsFor('carol').setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(ecPrivate);
    expect((await get(jw, '/api/v1/conversations', bearer(t))).status).toBe(200);
  });

  it('rejects a token signed by a key that is not in the set', async () => {
    const other = await generateKeyPair('ES256');
    const t = await claimsFor('carol').setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(other.privateKey);
    const r = await get(jw, '/api/v1/conversations', bearer(t));
    expect(r.status).toBe(401);
    expect(r.www).toContain('invalid_token');
  });
});

describe('logs', () => {
  it('never contain a token, even after all the requests above', () => {
    const all = [...hs.lines, ...rs.lines, ...jw.lines].join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\.eyJ/);
    expect(all).not.toContain(SECRET);
  });
});
