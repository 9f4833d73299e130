// HTTP conformance found by probing from outside: HEAD, conflicting Content-Length, public
// paths outside the API, query strings on static files, and token claims PostgreSQL cannot
// store. Each bad input is refused clearly and changes nothing.
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import type { Db } from '../../src/db/client.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';
import { TestSocket, wsUrl } from '../helpers/ws-client.js';

let tdb: TestDatabase & { db: Db };
let s: ServerProcess;
let auth: Record<string, string>;

// One raw request; resolves with the whole response once the server closes or goes quiet.
function raw(port: number, request: string, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    let timer = setTimeout(() => sock.destroy(), quietMs * 4);
    sock.on('data', (b) => {
      got += b.toString();
      clearTimeout(timer);
      timer = setTimeout(() => sock.destroy(), quietMs);
    });
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.write(request);
  });
}

function parse(response: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

async function conversationCount(): Promise<number> {
  const rows = await tdb.db.sql<{ n: string }[]>`SELECT count(*) AS n FROM conversations`;
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  tdb = await createMigratedDatabase('httpconf');
  s = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url }, 'http-conformance');
  auth = bearer(await token('alice'));
});

afterAll(async () => {
  await s?.stop();
  await tdb?.drop();
});

describe('HEAD', () => {
  it('answers like GET without a body on /health, / and API routes', async () => {
    for (const [p, headers] of [['/health', ''], ['/', ''], ['/api/v1/conversations', `Authorization: ${auth.authorization}\r\n`]] as const) {
      const got = await raw(s.port, `HEAD ${p} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
      const r = parse(got);
      expect(r.status, p).toBe(200);
      expect(r.body, p).toBe('');
      const get = await fetch(s.url + p, { headers: p.startsWith('/api') ? auth : {} });
      expect(r.headers['content-type'], p).toBe(get.headers.get('content-type'));
    }
  });

  it('keeps the connection usable after a HEAD (no stray body bytes)', async () => {
    const sock = net.connect(s.port, '127.0.0.1');
    let got = '';
    let onData = () => {};
    sock.on('data', (b) => { got += b.toString(); onData(); });
    const responses = (n: number, done: (g: string) => boolean) => new Promise<void>((resolve) => {
      onData = () => { if ((got.match(/^HTTP\/1\.1 /gm) ?? []).length >= n && done(got)) resolve(); };
    });
    const first = responses(1, (g) => g.endsWith('\r\n\r\n'));
    sock.write('HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await first;
    const second = responses(2, (g) => g.endsWith('}'));
    sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await second;
    sock.destroy();
    const parts = got.split('\r\n\r\n');
    expect(parts[1]).toMatch(/^HTTP\/1\.1 200/); // nothing between the two responses
    expect(JSON.parse(parts[2]!).status).toBe('ok');
  });

  it('answers errors without a body too', async () => {
    const r = parse(await raw(s.port, 'HEAD /api/v1/conversations HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(r.status).toBe(401);
    expect(r.body).toBe('');
    expect(parse(await raw(s.port, 'HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(404);
  });

  it('lists HEAD in Allow for paths with GET', async () => {
    const res = await fetch(`${s.url}/api/v1/conversations`, { method: 'PUT', headers: auth });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, GET, HEAD');
  });
});

describe('Content-Length', () => {
  it('refuses two different Content-Length headers with 400 and stores nothing', async () => {
    const before = await conversationCount();
    const body = '{"title":"smuggled"}';
    const got = await raw(s.port, `POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: 2\r\n\r\n${body}`);
    const r = parse(got);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toMatch(/conflicting Content-Length/);
    expect(r.headers.connection).toBe('close');
    expect(await conversationCount()).toBe(before);
  });

  it('accepts a single Content-Length (the other half)', async () => {
    const before = await conversationCount();
    const body = '{"title":"honest"}';
    const r = parse(await raw(s.port, `POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    expect(r.status).toBe(201);
    expect(await conversationCount()).toBe(before + 1);
  });
});

describe('paths outside the API', () => {
  it('are public: a missing one answers 404 without asking for a token', async () => {
    for (const p of ['/favicon.ico', '/nope', '/assets/nope.js']) {
      const res = await fetch(s.url + p);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('www-authenticate'), p).toBeNull();
      expect((await res.json()).error.code).toBe('route_not_found');
    }
  });

  it('while unknown API paths still answer 401 before 404', async () => {
    expect((await fetch(`${s.url}/api/v1/nope`)).status).toBe(401);
  });

  it('static files ignore query strings; the API still refuses unknown parameters', async () => {
    expect((await fetch(`${s.url}/assets/app.js?x=1`)).status).toBe(200);
    expect((await fetch(`${s.url}/?utm_source=x`)).status).toBe(200);
    const api = await fetch(`${s.url}/api/v1/conversations?x=1`, { headers: auth });
    expect(api.status).toBe(400);
    expect((await api.json()).error.message).toMatch(/"x"/);
  });
});

describe('token claims and text that PostgreSQL cannot store', () => {
  for (const [what, sub] of [['NUL', 'ali\u0000ce'], ['an unpaired surrogate', 'ali\uD800ce']] as const) {
    it(`answers 401 naming "sub" when it contains ${what}, and stores nothing`, async () => {
      const before = await conversationCount();
      const res = await fetch(`${s.url}/api/v1/conversations`, {
        method: 'POST', headers: { ...bearer(await token(sub)), 'content-type': 'application/json' }, body: '{}',
      });
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toMatch(/token "sub"/);
      expect(await conversationCount()).toBe(before);
    });
  }

  it('refuses unpaired surrogates in titles, metadata and documents, naming the field', async () => {
    const before = await conversationCount();
    const post = (p: string, body: unknown) => fetch(s.url + p, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [p, body, field] of [
      ['/api/v1/conversations', { title: 'a\uD800' }, 'body.title'],
      ['/api/v1/conversations', { metadata: { k: ['x', 'b\uDC00'] } }, 'body.metadata'],
      ['/api/v1/documents', { title: 'notes', content: 'x\uD83D' }, 'body.content'],
    ] as const) {
      const res = await post(p, body);
      expect(res.status, field).toBe(400);
      const err = (await res.json()).error;
      expect(err.issues[0].path, field).toBe(field);
      expect(err.issues[0].message, field).toMatch(/surrogate/);
    }
    expect(await conversationCount()).toBe(before);
    const docs = await tdb.db.sql<{ n: string }[]>`SELECT count(*) AS n FROM documents`;
    expect(Number(docs[0]!.n)).toBe(0);
    // A well-formed pair (an emoji) is stored intact.
    const ok = await post('/api/v1/conversations', { title: 'hi \uD83D\uDE00' });
    expect(ok.status).toBe(201);
    expect((await ok.json()).title).toBe('hi \uD83D\uDE00');
  });

  it('checks a title\'s length on what was sent, before trimming', async () => {
    const post = (title: string) => fetch(`${s.url}/api/v1/conversations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title }) });
    expect((await post('\v' + 'x'.repeat(200))).status).toBe(400);
    const ok = await post('\v' + 'x'.repeat(199));
    expect(ok.status).toBe(201);
    expect((await ok.json()).title).toBe('x'.repeat(199));
  });
});

describe('development mode', () => {
  let dev: ServerProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-dev-'));
    dev = await startServer({ DATABASE_URL: tdb.url, DATA_DIR: dataDir }, 'dev-host');
  });

  afterAll(async () => {
    await dev?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('hands a token only to a loopback Host', async () => {
    for (const host of ['evil.example', `evil.example:${dev.port}`, `192.168.1.5:${dev.port}`]) {
      const r = parse(await raw(dev.port, `GET /api/dev/token HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
      expect(r.status, host).toBe(403);
      expect(r.body, host).not.toMatch(/"token"/);
      expect(JSON.parse(r.body).error.message, host).toMatch(/loopback/);
    }
    for (const host of [`127.0.0.1:${dev.port}`, `localhost:${dev.port}`, 'localhost']) {
      const r = parse(await raw(dev.port, `GET /api/dev/token HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
      expect(r.status, host).toBe(200);
      expect(JSON.parse(r.body).token, host).toMatch(/^ey/);
    }
  });

  it('does not let a rebinding page open a socket from "this host"', async () => {
    const conv = '00000000-0000-4000-8000-000000000000';
    const err = await TestSocket.open(wsUrl(dev.url, conv), { Host: `evil.example:${dev.port}`, Origin: `http://evil.example:${dev.port}` })
      .then((sock) => { sock.close(); return undefined; }, (e: { status: number }) => e);
    expect(err?.status).toBe(403);
    const sock = await TestSocket.open(wsUrl(dev.url, conv), { Origin: `http://127.0.0.1:${dev.port}` });
    sock.close();
  });
});
