import { describe, expect, it } from 'vitest';
import { DEV_AUDIENCE, DEV_ISSUER, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('applies defaults and runs in development mode without JWT settings', () => {
    const r = parseConfig({});
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.config).toMatchObject({ port: 8000, metricsPort: 9464, dataDir: '.data', maxBodyBytes: 1048576, databaseUrl: undefined });
    expect(r.config.jwt).toMatchObject({ mode: { kind: 'development' }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
  });

  it('selects the key source and keeps issuer/audience unset unless given', () => {
    const r = parseConfig({ JWT_JWKS_URL: 'https://idp.example/jwks', JWT_AUDIENCE: 'app' });
    expect(r.ok && r.config.jwt).toMatchObject({ mode: { kind: 'jwks', url: 'https://idp.example/jwks' }, issuer: undefined, audience: 'app' });
  });

  it('reports every bad variable at once, never echoing secrets', () => {
    const r = parseConfig({ PORT: '70000', DB_POOL_MAX: '0', JWT_SECRET: 'tooshort', JWT_ALGORITHMS: 'HS256,none', MIGRATE_ON_START: 'maybe', DATABASE_URL: 'http://x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.split('=')[0])).toEqual(['PORT', 'DATABASE_URL', 'DB_POOL_MAX', 'MIGRATE_ON_START', 'JWT_SECRET', 'JWT_ALGORITHMS']);
    expect(r.errors.join('\n')).not.toContain('tooshort');
    expect(r.errors.join('\n')).not.toContain('http://x');
  });

  it('treats blank values as unset', () => {
    const r = parseConfig({ DATABASE_URL: '  ', JWT_SECRET: '' });
    expect(r.ok && r.config.databaseUrl).toBeUndefined();
    expect(r.ok && r.config.jwt.mode.kind).toBe('development');
  });
});
