import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { AuthError, bearerToken, createVerifier } from './verifier.js';

const SECRET = 'unit-secret-0123456789abcdefghijklmnop';

function jwtConfig(env: Record<string, string>) {
  const r = parseConfig(env);
  if (!r.ok) throw new Error(r.errors.join());
  return r.config.jwt;
}

async function hs(sub: string, exp: number, alg = 'HS256') {
  return new SignJWT({}).setProtectedHeader({ alg }).setSubject(sub).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
}

describe('createVerifier', () => {
  it('picks the allow-list from the key type', async () => {
    expect(createVerifier(jwtConfig({ JWT_SECRET: SECRET })).algorithms).toEqual(['HS256', 'HS384', 'HS512']);
    const ec = await generateKeyPair('ES384', { extractable: true });
    expect(createVerifier(jwtConfig({ JWT_PUBLIC_KEY: await exportSPKI(ec.publicKey) })).algorithms).toEqual(['ES384']);
  });

  it('refuses a configured allow-list that crosses key families', () => {
    expect(() => createVerifier(jwtConfig({ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'RS256' }))).toThrow(/allows nothing usable/);
  });

  it('caches a verified token and serves it without re-verifying', async () => {
    const v = createVerifier(jwtConfig({ JWT_SECRET: SECRET }));
    const t = await hs('alice', Math.floor(Date.now() / 1000) + 60);
    const first = await v.verify(t);
    expect(v.cache.size).toBe(1);
    expect(await v.verify(t)).toBe(first); // same object: served from the cache
  });

  it('classifies failures for metrics and messages', async () => {
    const v = createVerifier(jwtConfig({ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256' }));
    const reason = (p: Promise<unknown>) => p.then(() => 'ok', (e: AuthError) => e.reason);
    expect(await reason(v.verify(await hs('a', 1)))).toBe('expired');
    expect(await reason(v.verify(await hs('a', Math.floor(Date.now() / 1000) + 60, 'HS512')))).toBe('alg_not_allowed');
    expect(await reason(v.verify('x.y.z'))).toBe('malformed');
    expect(v.cache.size).toBe(0); // failures are never cached
  });
});

describe('issuer and audience', () => {
  const sign = (claims: { iss?: string; aud?: string | string[] }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) + 60);
    if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
    if (claims.aud !== undefined) jwt.setAudience(claims.aud);
    return jwt.sign(new TextEncoder().encode(SECRET));
  };
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: AuthError) => `${e.reason}: ${e.message}`);

  it('accepts only the configured issuer, and names the claim that failed', async () => {
    const v = createVerifier(jwtConfig({ JWT_SECRET: SECRET, JWT_ISSUER: 'https://id.example.com' }));
    expect(await outcome(v.verify(await sign({ iss: 'https://id.example.com' })))).toBe('ok');
    expect(await outcome(v.verify(await sign({ iss: 'https://evil.example.com' })))).toBe('claim_invalid: token claim "iss" is invalid or missing');
    expect(await outcome(v.verify(await sign({})))).toBe('claim_invalid: token claim "iss" is invalid or missing');
  });

  it('accepts only tokens for the configured audience, one among several included', async () => {
    const v = createVerifier(jwtConfig({ JWT_SECRET: SECRET, JWT_AUDIENCE: 'chat' }));
    expect(await outcome(v.verify(await sign({ aud: 'chat' })))).toBe('ok');
    expect(await outcome(v.verify(await sign({ aud: ['billing', 'chat'] })))).toBe('ok');
    expect(await outcome(v.verify(await sign({ aud: 'billing' })))).toBe('claim_invalid: token claim "aud" is invalid or missing');
    expect(await outcome(v.verify(await sign({})))).toBe('claim_invalid: token claim "aud" is invalid or missing');
    expect(v.cache.size).toBe(2); // the two accepted tokens only
  });

  it('checks neither when none is configured', async () => {
    const v = createVerifier(jwtConfig({ JWT_SECRET: SECRET }));
    expect(await outcome(v.verify(await sign({ iss: 'anyone', aud: 'anything' })))).toBe('ok');
  });
});

describe('bearerToken', () => {
  it('parses the scheme case-insensitively and rejects anything else', () => {
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerToken('')).toThrow(/missing/);
    expect(() => bearerToken('Bearer')).toThrow(/Bearer <token>/);
    expect(() => bearerToken('Bearer a b')).toThrow(/Bearer <token>/);
  });
});
