import { describe, expect, it } from 'vitest';
import { configHelp, CONFIG_VARS, DEV_AUDIENCE, DEV_ISSUER, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('applies defaults and runs in development mode without JWT settings', () => {
    const r = parseConfig({});
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.config).toMatchObject({ port: 8000, metricsPort: 9464, dataDir: '.data', maxBodyBytes: 1048576, databaseUrl: undefined });
    expect(r.config.jwt).toMatchObject({ mode: { kind: 'development' }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
  });

  it('listens on loopback in development mode and on every interface otherwise, unless HOST says', () => {
    const dev = parseConfig({});
    expect(dev.ok && [dev.config.host, dev.config.metricsHost]).toEqual(['127.0.0.1', '127.0.0.1']);
    const prod = parseConfig({ JWT_SECRET: 'x'.repeat(32) });
    expect(prod.ok && [prod.config.host, prod.config.metricsHost]).toEqual(['0.0.0.0', '0.0.0.0']);
    const asked = parseConfig({ HOST: '0.0.0.0', METRICS_HOST: '::' });
    expect(asked.ok && [asked.config.host, asked.config.metricsHost]).toEqual(['0.0.0.0', '::']);
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

  it('takes trusted proxies as addresses and CIDR ranges, naming the variable when one is not', () => {
    const r = parseConfig({ TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8,127.0.0.1' });
    expect(r.ok && r.config.ws.trustedProxies).toEqual(['10.0.0.0/8', 'fd00::/8', '127.0.0.1']);
    const bad = parseConfig({ TRUSTED_PROXIES: '10.0.0.0/8,ingress.local' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors).toEqual([expect.stringMatching(/^TRUSTED_PROXIES=.*CIDR ranges/)]);
  });

  it('says what a number or a choice must be in words, and what it got', () => {
    const r = parseConfig({ PORT: 'abc', SHUTDOWN_GRACE_MS: '-1', WS_RATE_PER_SEC: '0', LOG_LEVEL: 'loud' });
    expect(r.ok ? [] : r.errors).toEqual([
      'PORT="abc": expected an integer from 0 to 65535, got "abc"',
      'WS_RATE_PER_SEC="0": expected a number of at least 0.1, got "0"',
      'SHUTDOWN_GRACE_MS="-1": expected an integer of at least 1, got "-1"',
      'LOG_LEVEL="loud": expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
    ].sort((a, b) => Object.keys(CONFIG_VARS).indexOf(a.split('=')[0]!) - Object.keys(CONFIG_VARS).indexOf(b.split('=')[0]!)));
  });

  it('aligns the --help columns however long a name or default is', () => {
    const rows = configHelp().split('\n').slice(1);
    const helpColumn = (row: string, name: string) => row.indexOf((CONFIG_VARS as Record<string, { help: string }>)[name]!.help);
    const columns = new Set(Object.keys(CONFIG_VARS).map((name, i) => helpColumn(rows[i]!, name)));
    expect(columns.size).toBe(1);
    expect(rows.find((r) => r.includes('LLM_FIRST_TOKEN_TIMEOUT_MS'))).toMatch(/^ {2}LLM_FIRST_TOKEN_TIMEOUT_MS {2}60000 +time from/);
  });

  it('treats blank values as unset', () => {
    const r = parseConfig({ DATABASE_URL: '  ', JWT_SECRET: '' });
    expect(r.ok && r.config.databaseUrl).toBeUndefined();
    expect(r.ok && r.config.jwt.mode.kind).toBe('development');
  });
});

describe('model, cache and document settings', () => {
  const ok = (env: Record<string, string>) => {
    const r = parseConfig(env);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.config;
  };

  it('defaults to the built-in agent and embedder with the cache on', () => {
    const c = ok({});
    expect(c.agent.name).toBe('builtin');
    expect(c.llm).toMatchObject({ baseUrl: 'https://api.openai.com/v1', apiKey: undefined, maxRetries: 2, maxSteps: 6 });
    expect(c.cache).toEqual({ enabled: true, ttlS: 86400, maxEntries: 10000, purgeIntervalS: 300 });
    expect(c.admin).toEqual({ claim: 'roles', role: 'admin' });
    expect(c.embeddings).toMatchObject({ provider: 'builtin', baseUrl: 'https://api.openai.com/v1' });
  });

  it('LLM_PROVIDER wins over AGENT; AGENT=none still means no agent', () => {
    expect(ok({ AGENT: 'none', LLM_PROVIDER: 'openai', LLM_MODEL: 'm' }).agent.name).toBe('openai');
    expect(ok({ AGENT: 'none' }).agent.name).toBe('none');
    expect(ok({ LLM_PROVIDER: 'none' }).agent.name).toBe('none');
  });

  it('embeddings inherit the LLM server and key unless set', () => {
    const c = ok({ LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_API_KEY: 'k1' });
    expect(c.embeddings).toMatchObject({ baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'k1' });
    expect(ok({ LLM_API_KEY: 'k1', EMBEDDINGS_API_KEY: 'k2', EMBEDDINGS_BASE_URL: 'http://e/v1' }).embeddings).toMatchObject({ baseUrl: 'http://e/v1', apiKey: 'k2' });
  });

  it('reports every bad value at once and never echoes the keys', () => {
    const r = parseConfig({ LLM_PROVIDER: 'claude', LLM_MAX_STEPS: '0', CACHE_ENABLED: 'maybe', EMBEDDINGS_BASE_URL: 'x', LLM_API_KEY: '' });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors.map((e) => e.split('=')[0])).toEqual(['LLM_PROVIDER', 'LLM_MAX_STEPS', 'CACHE_ENABLED', 'EMBEDDINGS_BASE_URL']);
  });

  it('openai needs a model', () => {
    const r = parseConfig({ LLM_PROVIDER: 'openai', LLM_API_KEY: 'sk-secret' });
    expect(r).toEqual({ ok: false, errors: ['LLM_MODEL=unset: expected a model name when the provider is openai'] });
  });
});

describe('bus configuration', () => {
  const errors = (env: Record<string, string>) => {
    const r = parseConfig(env);
    return r.ok ? [] : r.errors;
  };

  it('defaults to the PostgreSQL bus; BUS=nats takes the URLs and bounds', () => {
    const def = parseConfig({});
    expect(def.ok && def.config.bus).toEqual({ kind: 'postgres', lingerMs: 2 });
    const eager = parseConfig({ BUS_LINGER_MS: '0' });
    expect(eager.ok && eager.config.bus).toEqual({ kind: 'postgres', lingerMs: 0 });
    expect(errors({ BUS_LINGER_MS: '2.5' })[0]).toMatch(/^BUS_LINGER_MS="2.5": expected/);
    expect(errors({ BUS_LINGER_MS: '5000' })[0]).toMatch(/^BUS_LINGER_MS="5000": expected/);
    const r = parseConfig({ BUS: 'nats', NATS_URL: 'nats://a:4222, nats://b:4222', NATS_TOKEN_FILE: '/run/token' });
    expect(r.ok && r.config.bus).toMatchObject({ kind: 'nats', nats: { servers: ['nats://a:4222', 'nats://b:4222'], subjectPrefix: 'chat', token: { file: '/run/token' }, maxPendingBytes: 8 * 1024 * 1024 } });
  });

  it('names the variable of every bad or conflicting NATS setting, never echoing credentials', () => {
    expect(errors({ BUS: 'nats' })).toEqual(['NATS_URL=unset: expected a nats:// URL when BUS=nats']);
    expect(errors({ BUS: 'kafka' })[0]).toMatch(/^BUS="kafka": expected/);
    const bad = errors({ BUS: 'nats', NATS_URL: 'http://user:hunter2@nats:4222' });
    expect(bad[0]).toMatch(/^NATS_URL=<redacted>: expected a comma list of nats:\/\/ or tls:\/\/ URLs/);
    expect(bad.join()).not.toContain('hunter2');
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_USER: 'u' })).toEqual(['NATS_PASSWORD=unset: expected NATS_PASSWORD or NATS_PASSWORD_FILE with NATS_USER']);
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_TOKEN: 't', NATS_TOKEN_FILE: '/t' })).toEqual(['NATS_TOKEN, NATS_TOKEN_FILE: set only one']);
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_CREDS_FILE: '/c', NATS_TOKEN: 'secret-token' })).toEqual(['NATS_CREDS_FILE, NATS_TOKEN: set only one NATS authentication method']);
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_TLS_CERT: '/c.pem' })).toEqual(['NATS_TLS_CERT, NATS_TLS_KEY: set both for mutual TLS, or neither']);
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_MAX_PENDING_BYTES: '10' })[0]).toMatch(/^NATS_MAX_PENDING_BYTES="10": expected/);
    expect(errors({ BUS: 'nats', NATS_URL: 'nats://n:4222', NATS_SUBJECT_PREFIX: 'chat.>' })[0]).toMatch(/^NATS_SUBJECT_PREFIX=/);
  });
});
