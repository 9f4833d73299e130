import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCall, type ChatCallOptions } from './chat-call.js';
import type { ModelEvent } from './chunks.js';

// /many: three tokens in one piece, then one per piece; /endless: a token every 20 ms
// until the client goes (closed counts those disconnects); /bad: a token, then a broken
// chunk in the same piece.
const chunk = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
let server: http.Server;
let base: string;
let closed = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (req.url === '/v1/many/chat/completions') {
      res.write(chunk('a') + chunk('b') + chunk('c'));
      setTimeout(() => res.end(`${chunk('d')}data: [DONE]\n\n`), 10);
    } else if (req.url === '/v1/bad/chat/completions') {
      res.end(`${chunk('a')}data: {not json\n\n`);
    } else {
      const t = setInterval(() => res.write(chunk('x')), 20);
      res.on('close', () => { clearInterval(t); closed++; });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

// the idle timeout is far beyond the tests: only the client ends a request
const opts = (path: string): ChatCallOptions => ({
  baseUrl: `${base}/v1/${path}`, apiKey: undefined, maxRetries: 0, retryBaseMs: 1,
  timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs: 60_000 },
});
const texts = (evs: ModelEvent[]) => evs.map((e) => (e.type === 'text' ? e.text : e.type)).join('');

describe('chatCall', () => {
  it('hands out every event of a piece in order, then ends', async () => {
    const got: ModelEvent[] = [];
    for await (const ev of chatCall({}, opts('many'), new AbortController().signal)) got.push(ev);
    expect(texts(got)).toBe('abcd');
  });

  it('hands out the events decoded before a broken chunk, then fails', async () => {
    const got: ModelEvent[] = [];
    const run = async () => { for await (const ev of chatCall({}, opts('bad'), new AbortController().signal)) got.push(ev); };
    await expect(run()).rejects.toMatchObject({ code: 'llm_bad_response' });
    expect(texts(got)).toBe('a');
  });

  it('a consumer that stops early ends the request, and the iterator stays done', async () => {
    const before = closed;
    const it = chatCall({}, opts('endless'), new AbortController().signal);
    let n = 0;
    for await (const ev of it) {
      expect(ev).toEqual({ type: 'text', text: 'x' });
      if (++n === 3) break;
    }
    await expect.poll(() => closed, { timeout: 1000 }).toBe(before + 1);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });
});
