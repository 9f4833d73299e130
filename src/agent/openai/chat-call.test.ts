import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCall, type ChatCallOptions } from './chat-call.js';
import type { ModelEvent } from './chunks.js';

// /many: three tokens in one piece, then one per piece; /endless: a token every 20 ms
// until the client goes (closed counts those disconnects); /bad: a token, then a broken
// chunk in the same piece; /mixed: text, reasoning, text, usage; /burst: the head, then 500
// tokens in one write, far past what the call queues for a reader that is behind.
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
    } else if (req.url === '/v1/mixed/chat/completions') {
      // the head first: text that comes with it reaches the call before its reader waits
      res.flushHeaders();
      setTimeout(() => res.write(chunk('a') + chunk('b')), 10);
      setTimeout(() => res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { reasoning_content: 'r' } }] })}\n\n${chunk('c')}`
        + `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 3 } })}\n\ndata: [DONE]\n\n`), 30);
    } else if (req.url === '/v1/burst/chat/completions') {
      res.flushHeaders();
      setTimeout(() => res.end(`${Array.from({ length: 500 }, (_, i) => chunk(`t${i} `)).join('')}data: [DONE]\n\n`), 10);
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

  it('offers each event to its sink while the reader waits, and hands out only what the sink left, in order', async () => {
    const call = chatCall({}, opts('mixed'), new AbortController().signal);
    const order: string[] = [];
    // takes text until the reasoning has come through next()
    let reasoned = false;
    call.sink = (ev) => {
      if (ev.type !== 'text' || reasoned) return false;
      order.push(`sink:${ev.text}`);
      return true;
    };
    for await (const ev of call) {
      if (ev.type === 'reasoning') reasoned = true;
      order.push(`next:${ev.type === 'text' || ev.type === 'reasoning' ? ev.text : ev.type}`);
    }
    expect(order).toEqual(['sink:a', 'sink:b', 'next:r', 'next:c', 'next:usage']);
  });

  it('a sink that throws ends the call with its error, after the events before it, and ends the request', async () => {
    const before = closed;
    const call = chatCall({}, opts('endless'), new AbortController().signal);
    let n = 0;
    const boom = new Error('the run broke');
    call.sink = () => {
      if (++n === 3) throw boom;
      return true;
    };
    await expect((async () => { for await (const ev of call) void ev; })()).rejects.toBe(boom);
    await expect.poll(() => closed, { timeout: 1000 }).toBe(before + 1);
    expect(n).toBe(3);
    // nor is it offered anything after it threw, even from the same piece
    const burst = chatCall({}, opts('burst'), new AbortController().signal);
    let m = 0;
    burst.sink = () => {
      if (++m === 2) throw boom;
      return true;
    };
    await expect((async () => { for await (const ev of burst) void ev; })()).rejects.toBe(boom);
    expect(m).toBe(2);
  });

  it('a reader far behind the body gets every event, in order', async () => {
    const got: string[] = [];
    for await (const ev of chatCall({}, opts('burst'), new AbortController().signal)) {
      if (ev.type === 'text') got.push(ev.text);
      await new Promise((r) => setImmediate(r));
    }
    expect(got.join('')).toBe(Array.from({ length: 500 }, (_, i) => `t${i} `).join(''));
  });
});
