// The demo page and its assets at /, and the development-only demo token endpoint,
// which must not exist in production mode.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient } from '../../src/client/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';

let tdb: TestDatabase;
let dev: ServerProcess;
let prod: ServerProcess;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-dev-'));

beforeAll(async () => {
  tdb = await createTestDatabase('webpage');
  [dev, prod] = await Promise.all([
    startServer({ DATABASE_URL: tdb.url, DATA_DIR: dataDir }, 'web-dev'),
    startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url }, 'web-prod'),
  ]);
});

afterAll(async () => {
  await Promise.all([dev?.stop(), prod?.stop()]);
  await tdb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the demo page', () => {
  it('is served at / with its bundled script and styles, in both modes', async () => {
    for (const s of [dev, prod]) {
      const page = await fetch(`${s.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
      expect(html).toContain('id="composer"');
      const js = await fetch(`${s.url}/assets/app.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await js.text()).toContain('/api/dev/token');
      const css = await fetch(`${s.url}/assets/app.css`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(await css.text()).toContain('.msg.assistant');
    }
  });
});

describe('the development token endpoint', () => {
  it('hands out a short-lived token for "demo" that works for REST and WebSocket', async () => {
    const res = await fetch(`${dev.url}/api/dev/token`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; user_id: string; expires_at: string };
    expect(body.user_id).toBe('demo');
    const ttl = Date.parse(body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(10 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    const created = await fetch(`${dev.url}/api/v1/conversations`, { method: 'POST', headers: { ...bearer(body.token), 'content-type': 'application/json' }, body: '{}' });
    expect(created.status).toBe(201);
    const conv = ((await created.json()) as { id: string }).id;
    const client = new ChatClient(conv, { url: dev.url, getToken: async () => ((await (await fetch(`${dev.url}/api/dev/token`)).json()) as { token: string }).token });
    try {
      await expect(client.connect()).resolves.toMatchObject({ userId: 'demo', conversationId: conv });
    } finally {
      client.close();
    }
  });

  it('does not exist in production mode', async () => {
    const anonymous = await fetch(`${prod.url}/api/dev/token`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const signedIn = await fetch(`${prod.url}/api/dev/token`, { headers: bearer(await token('alice')) });
    expect(signedIn.status).toBe(404);
    expect(((await signedIn.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    const doc = (await (await fetch(`${prod.url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/api/dev/token');
  });
});
