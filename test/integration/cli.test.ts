// The chat-backend CLI: --help, configuration errors, token, refusal to run without
// the native uWS binary, and development mode on embedded PostgreSQL.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VARS } from '../../src/config.js';
import { createTestDatabase } from '../helpers/db.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { AUDIENCE, ISSUER, SECRET } from '../helpers/tokens.js';

describe('--help', () => {
  it('lists every variable with its default', async () => {
    const r = await runCli(['--help'], {});
    expect(r.code).toBe(0);
    for (const [name, spec] of Object.entries(CONFIG_VARS)) {
      const line = r.stdout.split('\n').find((l) => l.trim().startsWith(name + ' '));
      expect(line, name).toBeDefined();
      if ('default' in spec) expect(line).toContain(spec.default);
    }
    expect(r.stdout).toMatch(/serve[\s\S]*migrate[\s\S]*token/);
  });
});

describe('configuration errors', () => {
  it('exits 1 naming every bad variable and what was expected', async () => {
    const r = await runCli(['serve'], { PORT: 'eighty', LOG_LEVEL: 'loud', JWT_SECRET: 'short', SHUTDOWN_GRACE_MS: '-1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT="eighty": expected/);
    expect(r.stderr).toMatch(/LOG_LEVEL="loud": expected .*"info"/);
    expect(r.stderr).toMatch(/JWT_SECRET=<redacted>: expected at least 32 bytes/);
    expect(r.stderr).toMatch(/SHUTDOWN_GRACE_MS="-1": expected/);
    expect(r.stderr).not.toContain('short');
  });

  it('refuses two JWT key sources at once', async () => {
    const r = await runCli(['serve'], { JWT_SECRET: SECRET, JWT_JWKS_URL: 'https://idp.test/jwks' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JWT_SECRET, JWT_JWKS_URL: set only one JWT key source/);
  });

  it('exits 2 on an unknown command', async () => {
    const r = await runCli(['frobnicate'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });
});

describe('token', () => {
  it('prints a token the server will accept', async () => {
    const r = await runCli(['token', '--sub', 'alice', '--ttl', '120', '--claim', 'role=admin'], { JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(SECRET), { issuer: ISSUER, audience: AUDIENCE });
    expect(payload).toMatchObject({ sub: 'alice', role: 'admin' });
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('explains usage without --sub', async () => {
    const r = await runCli(['token'], { JWT_SECRET: SECRET });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: chat-backend token --sub USER/);
  });

  it('cannot sign when only a JWKS URL is configured, and says why', async () => {
    const r = await runCli(['token', '--sub', 'a'], { JWT_JWKS_URL: 'https://idp.test/jwks' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot sign tokens: JWT is configured with JWT_JWKS_URL/);
  });
});

describe('native uWebSockets.js binary', () => {
  it('refuses to start, with the loader error, instead of falling back to the JS shim', async () => {
    const tdb = await createTestDatabase('native');
    try {
      const fixture = path.resolve(import.meta.dirname, '../fixtures/break-native-addons.cjs');
      const r = await runCli(['serve'], { DATABASE_URL: tdb.url, JWT_SECRET: SECRET, PORT: '0', NODE_OPTIONS: `--require ${fixture}` });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/uWebSockets\.js native binary did not load .*GLIBC_2\.38 not found/);
      expect(r.stdout + r.stderr).not.toMatch(/Falling back|fallback implementation/i);
    } finally {
      await tdb.drop();
    }
  });
});

describe('development mode (npm start on a fresh machine)', () => {
  let dataDir: string;
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    // Stopped here too, so a failed assertion never leaves a server (and its PostgreSQL) behind.
    await Promise.all(servers.map((s) => s.stop()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs on embedded PostgreSQL, prints a working demo token, and reuses its data on the next start', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-dev-'));
    if (process.getuid?.() === 0) {
      // As root, PostgreSQL runs as "postgres": a 0700 DATA_DIR is refused with a clear message.
      const refused = await runCli(['serve'], { DATA_DIR: dataDir, PORT: '0', METRICS_PORT: '0' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/runs as user "postgres", which cannot enter .*chmod o\+x/);
      await chmod(dataDir, 0o755);
    }
    const first = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 'devmode');
    servers.push(first);
    await expect.poll(() => first.stderr(), { timeout: 5000 }).toMatch(/Demo token[^\n]*\n\s+\S+/);
    const banner = first.stderr();
    expect(banner).toContain('DEVELOPMENT MODE');
    expect(banner).toContain(`http://127.0.0.1:${first.port}/`);
    const demoToken = /Demo token[^\n]*\n\s+(\S+)/.exec(banner)![1]!;
    expect(first.lines.join('\n')).toMatch(/"level":"warn".*DEVELOPMENT MODE/);
    const auth = { authorization: `Bearer ${demoToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.url}/api/v1/conversations`, { method: 'POST', headers: auth, body: '{"title":"kept"}' });
    expect(created.status).toBe(201);
    expect((await first.stop()).code).toBe(0);

    const second = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 'devmode-2');
    servers.push(second);
    try {
      const list = await fetch(`${second.url}/api/v1/conversations`, { headers: auth });
      expect(list.status).toBe(200);
      expect((await list.json()).items.map((c: { title: string }) => c.title)).toEqual(['kept']);
      expect(second.lines.join('\n')).not.toMatch(/migrations applied/);
    } finally {
      expect((await second.stop()).code).toBe(0);
    }
  }, 60_000);
});
