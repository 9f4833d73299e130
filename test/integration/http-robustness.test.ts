// Bad input gets a clear error naming what was wrong and changes nothing; no request,
// however broken or abandoned, takes the process down.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';

const { s, tdb } = useServer('robustness', { MAX_BODY_BYTES: String(1024 * 1024) }, 'robust');
let auth: Record<string, string>;

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + path, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: JSON.parse((await res.text()) || 'null') };
}

async function conversationCount(): Promise<number> {
  const rows = await tdb.db.sql<{ n: string }[]>`SELECT count(*) AS n FROM conversations`;
  return Number(rows[0]!.n);
}

function raw(payload: Buffer | string, waitMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1');
    let got = '';
    sock.on('data', (b) => { got += b.toString(); });
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.write(payload);
    setTimeout(() => sock.destroy(), waitMs);
  });
}

beforeAll(async () => {
  auth = bearer(await token('alice'));
});

describe('validation', () => {
  it('names the wrong field and stores nothing', async () => {
    const before = await conversationCount();
    const r = await post('/api/v1/conversations', JSON.stringify({ title: 'x'.repeat(201) }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.issues[0].path).toBe('body.title');
    expect(r.body.error.message).toContain('body.title');
    const unknown = await post('/api/v1/conversations', JSON.stringify({ title: 'ok', owner: 'mallory' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('owner');
    const wrongType = await post('/api/v1/conversations', JSON.stringify({ metadata: 'nope' }));
    expect(wrongType.body.error.issues[0].path).toBe('body.metadata');
    expect(await conversationCount()).toBe(before);
  });

  it('rejects malformed JSON and a non-JSON content type', async () => {
    const bad = await post('/api/v1/conversations', '{"title": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/malformed JSON/);
    const text = await post('/api/v1/conversations', 'title=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error.message).toMatch(/application\/json/);
  });

  it('rejects a malformed path id with 400 naming it', async () => {
    const res = await fetch(`${s.url}/api/v1/conversations/not-a-uuid`, { headers: auth });
    expect(res.status).toBe(400);
    expect((await res.json()).error.issues[0].path).toBe('path.id');
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    const res = await fetch(`${s.url}/api/v1/conversations`, { method: 'PUT', headers: auth });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, GET, HEAD');
  });
});

describe('body limit', () => {
  it('answers 413 for a declared body over 1 MiB, and the server keeps serving', async () => {
    const before = await conversationCount();
    const big = JSON.stringify({ title: 'x', metadata: { pad: 'y'.repeat(1024 * 1024) } });
    const r = await post('/api/v1/conversations', big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(await conversationCount()).toBe(before);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const chunk = 'a'.repeat(64 * 1024);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const res = await fetch(`${s.url}/api/v1/conversations`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: stream, duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe('never crashes', () => {
  it('survives garbage bytes, truncated requests, aborted uploads and header floods', async () => {
    const tok = auth.authorization!;
    for (let i = 0; i < 20; i++) await raw(randomBytes(512), 50);
    await raw('GET / HTTP/1.1\r\nHost: x\r\n'); // never finished
    await raw(`POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: ${tok}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":`, 100);
    await raw(`POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`);
    await raw(`GET /api/v1/conversations/%E0%A4%A HTTP/1.1\r\nHost: x\r\nAuthorization: ${tok}\r\n\r\n`);
    await raw(`GET /${'a/'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n${'X-Pad: y\r\n'.repeat(500)}\r\n`);
    // A client that sends a request and disconnects before the answer.
    await Promise.all(Array.from({ length: 30 }, () => raw(`GET /api/v1/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: ${tok}\r\n\r\n`, 1)));
    expect(s.child.exitCode).toBeNull();
    const res = await fetch(`${s.url}/api/v1/conversations`, { headers: auth });
    expect(res.status).toBe(200);
  });

  it('rejects NUL characters, which PostgreSQL cannot store, naming the field', async () => {
    const before = await conversationCount();
    const t = await post('/api/v1/conversations', JSON.stringify({ title: 'a\u0000b' }));
    expect(t.status).toBe(400);
    expect(t.body.error.issues[0]).toEqual({ path: 'body.title', message: 'must not contain NUL characters' });
    const m = await post('/api/v1/conversations', JSON.stringify({ metadata: { k: 'a\u0000b' } }));
    expect(m.status).toBe(400);
    expect(m.body.error.issues[0].path).toBe('body.metadata.k');
    expect(await conversationCount()).toBe(before);
  });
});
