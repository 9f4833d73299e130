// The server's env rendered from a ChatBackend, checked against the server's own config schema.
import { describe, expect, it } from 'vitest';
import { renderConfig } from './config.js';
import { cb, config } from './testing.js';

describe('config', () => {
  it('renders env validated by the server schema, secrets as secretKeyRefs', () => {
    const { env } = config(cb({ auth: { jwtSecretRef: { name: 'jwt' }, issuer: 'iss', allowedOrigins: ['https://app.example.com'] } }));
    const byName = new Map(env.map((e) => [e.name, e]));
    expect(byName.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'url' });
    expect(byName.get('JWT_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'jwt', key: 'secret' });
    expect(byName.get('MIGRATE_ON_START')?.value).toBe('false');
    expect(byName.get('ALLOWED_ORIGINS')?.value).toBe('https://app.example.com');
    expect(byName.get('JWT_ISSUER')?.value).toBe('iss');
  });

  it('reports what the server would reject, and env that shadows a secret', () => {
    const bad = renderConfig(cb({ auth: { jwtSecretRef: { name: 'jwt' }, allowedOrigins: ['not an origin'] } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.join()).toContain('ALLOWED_ORIGINS');
    const shadow = renderConfig(cb({ env: [{ name: 'DATABASE_URL', value: 'postgres://x' }] }));
    expect(shadow.ok).toBe(false);
  });

  it('changes its hash with the config and not otherwise', () => {
    expect(config(cb()).hash).toBe(config(cb()).hash);
    expect(config(cb({ logLevel: 'debug' })).hash).not.toBe(config(cb()).hash);
  });
});
