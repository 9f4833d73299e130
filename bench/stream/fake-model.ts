// A fake OpenAI-compatible model server for the streaming bench, run as its own process:
// every POST /v1/chat/completions streams BENCH_TOKENS tokens at BENCH_TOKEN_RATE per second
// as SSE chunks. Each token's text is its emit time (tenths of a millisecond since
// BENCH_EPOCH, base 36, after "~"), so the client measures emitted → received without
// any clock other than the machine's. A user message may ask for another length or rate
// ("tokens=4000 rate=100"). Prints {"port":N} on stdout when listening.
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const EPOCH = Number(process.env.BENCH_EPOCH ?? Date.now());
const TOKENS = Number(process.env.BENCH_TOKENS ?? 300);
const RATE = Number(process.env.BENCH_TOKEN_RATE ?? 30);

export const stamp = (): string => `~${Math.round((performance.timeOrigin + performance.now() - EPOCH) * 10).toString(36)}`;

interface Stream {
  res: ServerResponse;
  left: number;
  nextAt: number;
  period: number;
  total: number;
}

const streams = new Set<Stream>();
const chunk = (content: string) => `data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}}]}\n\n`;
const finish = (tokens: number) => 'data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
  + `data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${tokens}}}\n\ndata: [DONE]\n\n`;

// One ticker for all streams: each stream keeps its own phase (set by when its request
// came), so tokens of different streams are spread over time as with a real model.
setInterval(() => {
  const now = performance.now();
  for (const s of streams) {
    if (s.nextAt > now) continue;
    s.nextAt += s.period;
    s.left--;
    s.res.write(chunk(` ${stamp()}`));
    if (s.left === 0) {
      s.res.end(finish(s.total));
      streams.delete(s);
    }
  }
}, 2).unref();

function ask(body: string): { tokens: number; rate: number } {
  let text = '';
  try {
    const msgs = (JSON.parse(body) as { messages?: { role: string; content: string | null }[] }).messages ?? [];
    text = msgs.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  } catch {
    // not JSON: defaults
  }
  return { tokens: Number(/tokens=(\d+)/.exec(text)?.[1] ?? TOKENS), rate: Number(/rate=(\d+)/.exec(text)?.[1] ?? RATE) };
}

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => { body += d; });
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n');
    const { tokens, rate } = ask(body);
    const s: Stream = { res, left: tokens, total: tokens, period: 1000 / rate, nextAt: performance.now() + 1000 / rate };
    streams.add(s);
    res.on('close', () => streams.delete(s));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
