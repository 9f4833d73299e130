// SIGTERM drain and the metrics endpoint of a running server.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';

let tdb: TestDatabase;
beforeAll(async () => { tdb = await createMigratedDatabase('life'); });
afterAll(async () => { await tdb?.drop(); });

// Sends a request whose body is held back, so it stays in flight until finish().
async function slowPost(port: number, auth: string) {
  const body = JSON.stringify({ title: 'in flight during shutdown' });
  const sock = net.connect(port, '127.0.0.1');
  let response = '';
  sock.on('data', (b) => { response += b.toString(); });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => undefined);
  sock.write(`POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  return {
    finish: () => sock.write(body.slice(5)),
    response: async () => {
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      return response;
    },
  };
}

describe('SIGTERM', () => {
  it('turns readiness 503 at once, finishes in-flight requests, closes the pool and exits 0', async () => {
    const s = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, SHUTDOWN_GRACE_MS: '8000' }, 'sigterm');
    const auth = bearer(await token('alice')).authorization!;
    const req = slowPost(s.port, auth);
    const pending = await req;
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    await expect.poll(async () => (await fetch(`${s.url}/health/full`)).status, { timeout: 2000, interval: 50 }).toBe(503);
    const health = await (await fetch(`${s.url}/health/full`)).json();
    expect(health.checks.draining).toEqual({ status: 'fail', message: 'server is shutting down' });
    pending.finish();
    const exit = await s.exited;
    expect(await pending.response()).toMatch(/^HTTP\/1\.1 201/);
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    const stopped = s.lines.find((l) => l.includes('"msg":"stopped"'));
    expect(stopped).toContain('"drained":true');
  });

  it('exits 0 within SHUTDOWN_GRACE_MS even when a request never finishes', async () => {
    const s = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, SHUTDOWN_GRACE_MS: '2000' }, 'sigterm-stuck');
    await slowPost(s.port, bearer(await token('alice')).authorization!); // never finished
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const exit = await s.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000 + 500);
    expect(s.lines.find((l) => l.includes('"msg":"stopped"'))).toContain('"drained":false');
  });
});

describe('ports', () => {
  it('refuses to start on a port another server already listens on, instead of sharing it', async () => {
    const first = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url }, 'port-owner');
    try {
      const second = await runCli(['serve'], { ...AUTH_ENV, DATABASE_URL: tdb.url, PORT: String(first.port), HOST: '127.0.0.1' });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/cannot listen for HTTP on 127\.0\.0\.1:\d+ \(port in use/);
    } finally {
      await first.stop();
    }
  });
});

describe('metrics', () => {
  let s: ServerProcess;
  beforeAll(async () => { s = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url }, 'metrics'); });
  afterAll(async () => { await s?.stop(); });

  it('exports HTTP, database, WebSocket and process metrics on their own port only', async () => {
    const auth = bearer(await token('alice'));
    await fetch(`${s.url}/api/v1/conversations`, { headers: auth });
    await fetch(`${s.url}/api/v1/conversations`);
    const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/chat_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/conversations",status="200"\} 1/);
    expect(text).toMatch(/chat_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/conversations",status="401"\} 1/);
    expect(text).toMatch(/chat_db_query_duration_seconds_count\{query="conversations\.list",outcome="ok"\} 1/);
    for (const name of ['chat_ws_connect_duration_seconds', 'chat_ws_auth_duration_seconds', 'chat_ws_roundtrip_duration_seconds', 'chat_ws_message_ack_duration_seconds']) {
      expect(text).toContain(`# TYPE ${name} histogram`);
    }
    expect(text).toMatch(/process_cpu_user_seconds_total \d/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds \d/);
    // The public port does not expose metrics: outside /api/ an unknown path is simply not there.
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
  });
});
