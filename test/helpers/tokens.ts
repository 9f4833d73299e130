// Tokens for tests: the shared HMAC secret, issuer and audience every test server uses.
import { SignJWT, type JWTPayload } from 'jose';

export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'chat-backend-test';

export const AUTH_ENV = { JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };

export interface TokenOpts {
  expiresIn?: number; // seconds from now; negative for expired
  notBefore?: number; // seconds from now
  issuer?: string;
  audience?: string;
  alg?: string;
  secret?: string | Uint8Array;
  claims?: JWTPayload;
  omit?: ('sub' | 'exp')[];
}

export async function token(sub: string, o: TokenOpts = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let t = new SignJWT({ ...o.claims }).setProtectedHeader({ alg: o.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt();
  if (!o.omit?.includes('sub')) t = t.setSubject(sub);
  if (!o.omit?.includes('exp')) t = t.setExpirationTime(now + (o.expiresIn ?? 3600));
  if (o.notBefore !== undefined) t = t.setNotBefore(now + o.notBefore);
  t = t.setIssuer(o.issuer ?? ISSUER).setAudience(o.audience ?? AUDIENCE);
  const secret = o.secret ?? SECRET;
  return t.sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

export function bearer(tok: string): Record<string, string> {
  return { authorization: `Bearer ${tok}` };
}

// An unsigned token ("alg":"none"), which must never be accepted.
export function unsignedToken(sub: string): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600 })}.`;
}
