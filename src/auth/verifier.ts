// JWT verification with jose. The algorithm allow-list follows the key type, so an
// HMAC secret never accepts RS256 and a public key never accepts HS256 (the classic
// key-confusion attack), and "none" is never on any list.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.js';
import { AppError } from '../protocol/errors.js';
import { unstorable } from '../protocol/text.js';
import { TokenCache, type VerifiedToken } from './token-cache.js';

export type AuthFailureReason =
  | 'missing' | 'malformed' | 'expired' | 'not_yet_valid' | 'claim_invalid'
  | 'alg_not_allowed' | 'bad_signature' | 'key_unavailable' | 'invalid';

export class AuthError extends AppError {
  constructor(readonly reason: AuthFailureReason, message: string) {
    super('unauthorized', message, {
      headers: {
        'WWW-Authenticate': reason === 'missing'
          ? 'Bearer realm="chat-backend"'
          : `Bearer realm="chat-backend", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
      },
    });
  }
}

export interface Verifier {
  verify(token: string): Promise<VerifiedToken>;
  readonly algorithms: string[];
  readonly cache: TokenCache;
}

const HMAC = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function algorithmsForKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss': return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : ['ES512'];
    }
    case 'ed25519': return ['EdDSA'];
    default: throw new Error(`unsupported public key type ${key.asymmetricKeyType}`);
  }
}

// Dev mode resolves its generated secret before building the verifier, so the jwt
// config here always names a concrete key source.
export function createVerifier(jwt: Config['jwt'], devSecret?: string): Verifier {
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  let defaults: string[];
  const mode = jwt.mode;
  if (mode.kind === 'secret' || mode.kind === 'development') {
    const secret = mode.kind === 'secret' ? mode.secret : devSecret;
    if (secret === undefined) throw new Error('development mode needs its generated secret');
    key = new TextEncoder().encode(secret);
    defaults = HMAC;
  } else if (mode.kind === 'public-key') {
    const k = createPublicKey(mode.pem);
    key = k;
    defaults = algorithmsForKey(k);
  } else {
    key = createRemoteJWKSet(new URL(mode.url), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
    defaults = ASYMMETRIC;
  }
  // A configured list may narrow the defaults but never cross key families.
  const algorithms = jwt.algorithms === undefined ? defaults : jwt.algorithms.filter((a) => defaults.includes(a));
  if (algorithms.length === 0) throw new Error(`JWT_ALGORITHMS allows nothing usable with this key (${defaults.join(', ')})`);
  const cache = new TokenCache(jwt.cacheSize);

  return {
    algorithms,
    cache,
    async verify(token) {
      const hit = cache.get(token);
      if (hit !== undefined) return hit;
      try {
        const { payload } = await jwtVerify(token, key as Uint8Array, {
          algorithms,
          issuer: jwt.issuer,
          audience: jwt.audience,
          clockTolerance: jwt.clockToleranceS,
          requiredClaims: ['sub', 'exp'],
        });
        if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
          throw new AuthError('claim_invalid', 'token "sub" must be a non-empty string of at most 255 characters');
        }
        // sub becomes conversations.user_id: PostgreSQL must be able to store it as sent.
        const bad = unstorable(payload.sub);
        if (bad !== undefined) throw new AuthError('claim_invalid', `token "sub" ${bad}`);
        const verified: VerifiedToken = { sub: payload.sub, exp: payload.exp!, claims: payload as Record<string, unknown> };
        cache.set(token, verified);
        return verified;
      } catch (err) {
        throw toAuthError(err);
      }
    },
  };
}

function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return new AuthError('expired', 'token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return new AuthError('not_yet_valid', 'token is not yet valid');
    return new AuthError('claim_invalid', `token claim "${err.claim}" is invalid or missing`);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AuthError('alg_not_allowed', 'token algorithm is not allowed');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError('bad_signature', 'token signature is invalid');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new AuthError('bad_signature', 'no key matches the token');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new AuthError('key_unavailable', 'signing keys are unavailable');
  }
  if (err instanceof joseErrors.JOSENotSupported) return new AuthError('alg_not_allowed', 'token algorithm is not supported');
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return new AuthError('malformed', 'token is malformed');
  return new AuthError('invalid', 'token is invalid');
}

// Parses an Authorization header value; the scheme is case-insensitive (RFC 7235).
export function bearerToken(header: string): string {
  if (header === '') throw new AuthError('missing', 'missing Authorization: Bearer token');
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!m) throw new AuthError('malformed', 'Authorization header must be "Bearer <token>"');
  return m[1]!;
}
