import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream, type BodyStream } from './http-stream.js';

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

// Reads a whole body; `hold` pauses it for holdMs after its first piece.
const read = (q: string, idleMs: number, hold?: { ms: number }, url = base) => new Promise<{ text: string; error?: string }>((resolve) => {
  let text = '';
  let stream: BodyStream | undefined;
  let held = false;
  const done = (error?: string) => {
    stream?.close();
    resolve(error === undefined ? { text } : { text, error });
  };
  openStream({ url: new URL(`${url}/?${q}`), body: '{}', apiKey: undefined, timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs }, signal: new AbortController().signal }, {
    piece: (b) => {
      text += b.toString();
      // the first piece may come with the head, before the stream is handed over
      if (hold && !held) {
        held = true;
        setImmediate(() => {
          stream!.pause();
          setTimeout(() => stream!.resume(), hold.ms);
        });
      }
    },
    end: () => done(),
    error: (err) => done(err.message),
  }).then((s) => { stream = s; }, (err: Error) => done(err.message));
});

describe('the idle timeout between pieces', () => {
  it('restarts at every piece: a steady stream longer than the timeout completes', async () => {
    // 12 pieces 50 ms apart take 600 ms, past a 400 ms idle timeout counted from the first
    expect(await read('n=12&gap=50', 400)).toEqual({ text: Array.from({ length: 12 }, (_, i) => `p${i};`).join('') });
  });

  it('fires when the pieces stop', async () => {
    const r = await read('n=3&gap=20&stall=1', 300);
    expect(r).toEqual({ text: 'p0;p1;p2;', error: 'the model server stopped sending for 300 ms' });
  });

  it('does not run while the reader holds the body back', async () => {
    // held for 600 ms after the first piece, twice the idle timeout, while the server keeps sending
    expect(await read('n=6&gap=20', 300, { ms: 600 })).toEqual({ text: Array.from({ length: 6 }, (_, i) => `p${i};`).join('') });
  });
});

describe('what the connection does wrong', () => {
  // A raw TCP server that answers every request with `reply`, then closes.
  const raw = async (reply: string) => {
    const s = net.createServer((sock) => sock.once('data', () => sock.end(reply)));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    return { url, close: () => new Promise((r) => s.close(r)) };
  };
  const cases: [string, string, { text: string; error?: string }][] = [
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', { text: '', error: 'the model server sent a malformed HTTP response: not an HTTP/1.1 status line: "SSH-2.0-OpenSSH_9.2"' }],
    ['closes without answering', '', { text: '', error: 'the model server closed the connection without answering' }],
    ['closes mid-body', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart', { text: 'part', error: 'the connection to the model server broke mid-answer' }],
    ['an error page', 'HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\nbusy', { text: '', error: 'the model server is unavailable (HTTP 503): busy' }],
    ['a body framed by the connection end', 'HTTP/1.0 200 OK\r\n\r\nall of it', { text: 'all of it' }],
  ];
  for (const [name, reply, want] of cases) {
    it(`${name}: ${want.error ?? 'read to its end'}`, async () => {
      const s = await raw(reply);
      try {
        expect(await read('', 2000, undefined, s.url)).toEqual(want);
      } finally {
        await s.close();
      }
    });
  }

  it('an API key with a line break is refused before anything is sent, naming the setting', async () => {
    await expect(openStream({ url: new URL(base), body: '{}', apiKey: 'sk-1\r\nX-Injected: 1', timeouts: { connectMs: 2000, firstTokenMs: 2000, idleMs: 2000 }, signal: new AbortController().signal }, {
      piece: () => undefined, end: () => undefined, error: () => undefined,
    })).rejects.toMatchObject({ code: 'llm_unauthorized', message: 'the API key holds a line break; check LLM_API_KEY' });
  });
});
