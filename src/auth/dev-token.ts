// Development mode: a random HMAC secret kept under DATA_DIR so tokens survive a
// restart, and signing of short-lived tokens for the demo user and `token --sub`.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import type { Config } from '../config.js';

const SECRET_FILE = 'dev-jwt-secret';

export async function loadOrCreateDevSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, SECRET_FILE);
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return secret;
}

export interface SignOptions {
  sub: string;
  ttlSeconds: number;
  claims?: Record<string, unknown>;
}

// Signs with JWT_SECRET or the development secret; asymmetric deployments hold no
// private key here and must mint tokens with their identity provider.
export async function signToken(jwt: Config['jwt'], secret: string, opts: SignOptions): Promise<string> {
  let t = new SignJWT({ ...opts.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.ttlSeconds);
  if (jwt.issuer !== undefined) t = t.setIssuer(jwt.issuer);
  if (jwt.audience !== undefined) t = t.setAudience(jwt.audience);
  return t.sign(new TextEncoder().encode(secret));
}

export async function signingSecret(config: Config): Promise<string> {
  const mode = config.jwt.mode;
  if (mode.kind === 'secret') return mode.secret;
  if (mode.kind === 'development') return loadOrCreateDevSecret(config.dataDir);
  throw new Error(`cannot sign tokens: JWT is configured with ${mode.kind === 'jwks' ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY'}, whose private key lives with your identity provider`);
}
