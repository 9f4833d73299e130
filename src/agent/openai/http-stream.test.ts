import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream } from './http-stream.js';

// A server sending `n` pieces `gapMs` apart, then stalling or ending.
let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const n = Number(u.searchParams.get('n'));
    const gap = Number(u.searchParams.get('gap'));
    const stall = u.searchParams.get('stall') === '1';
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const t = setInterval(() => {
      res.write(`p${i++};`);
      if (i === n) {
        clearInterval(t);
        if (!stall) res.end();
      }
    }, gap);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const read = async (q: string, idleMs: number) => {
  let text = '';
  try {
    const stream = await openStream({ url: new URL(`${base}/?${q}`), body: '{}', apiKey: undefined, timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs }, signal: new AbortController().signal });
    try {
      for (let p = await stream.next(); p !== undefined; p = await stream.next()) text += p.toString();
    } finally {
      stream.close();
    }
    return { text };
  } catch (err) {
    return { text, error: (err as Error).message };
  }
};

describe('the idle timeout between pieces', () => {
  it('restarts at every piece: a steady stream longer than the timeout completes', async () => {
    // 12 pieces 50 ms apart take 600 ms, past a 400 ms idle timeout counted from the first
    expect(await read('n=12&gap=50', 400)).toEqual({ text: Array.from({ length: 12 }, (_, i) => `p${i};`).join('') });
  });

  it('fires when the pieces stop', async () => {
    const r = await read('n=3&gap=20&stall=1', 300);
    expect(r).toEqual({ text: 'p0;p1;p2;', error: 'the model server stopped sending for 300 ms' });
  });
});
