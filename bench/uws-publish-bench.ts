// Does uWS's native topic publish beat our per-socket send for a conversation's frames?
// The server (this process) holds M conversations with K sockets each and sends R frames
// per conversation, either as K ws.send calls with the one encoded string (what
// transport/ws.ts does) or as one app.publish to the conversation's topic. The sockets'
// peers are a child process that only counts bytes; its CPU is not counted. Each mode
// runs several times, alternating, and the server's CPU per 100 000 delivered frames is
// printed with the ratio of publish to send, measured in the same run (the loop that paces
// turns and waits for the bytes costs the same in both modes).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket as Client } from 'ws';
import { loadUws } from '../src/transport/uws.js';
import type { WebSocket } from '../src/transport/uws.js';

const M = Number(process.env.BENCH_CONVERSATIONS ?? 500);
const K_LIST = (process.env.BENCH_SOCKETS_PER_CONVERSATION ?? '1,2,4').split(',').map(Number);
const R = Number(process.env.BENCH_FRAMES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// a typical turn's frame: one delta of a word or two, as runs send at this load
const FRAME = JSON.stringify({ type: 'response.delta', run_id: '0b9e4f0e-2f55-4d43-9d1c-6c1f4a1e5a77', text: ' conversation,' });

async function peers(port: number, sockets: number): Promise<void> {
  let open = 0;
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < sockets; i++) {
      const c = new Client(`ws://127.0.0.1:${port}/c/${i}`);
      c.on('open', () => { if (++open === sockets) resolve(); });
      c.on('message', (d: Buffer) => { bytes += d.length; });
      c.on('error', reject);
    }
  });
  process.send!({ open });
  process.on('message', () => process.send!({ bytes }));
}

type Conn = WebSocket<{ conv: number }>;

async function server(): Promise<void> {
  const uws = loadUws();
  const conns: Conn[][] = Array.from({ length: M }, () => []);
  const app = uws.App().ws<{ conv: number }>('/c/:i', {
    compression: uws.DISABLED,
    maxBackpressure: 64 * 1024 * 1024,
    upgrade: (res, req, ctx) => {
      res.upgrade({ conv: Number(req.getParameter(0)) % M }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), ctx);
    },
    open: (ws) => {
      const conv = ws.getUserData().conv;
      ws.subscribe(String(conv));
      conns[conv]!.push(ws);
    },
    close: (ws) => {
      const list = conns[ws.getUserData().conv]!;
      list.splice(list.indexOf(ws), 1);
    },
  });
  const port = await new Promise<number>((resolve) => app.listen('127.0.0.1', 0, (s) => resolve(uws.us_socket_local_port(s))));
  const topics = Array.from({ length: M }, (_, i) => String(i));

  console.log(`uWS send vs publish: ${M} conversations, ${R} frames each per round, frame ${FRAME.length} B; server CPU-s per 100 000 delivered frames`);
  console.log('sockets/conv  mode      CPU-s/100k (rounds)                 mean   publish ×send');
  for (const k of K_LIST) {
    const child = fork(fileURLToPath(import.meta.url), ['peers', String(port), String(M * k)]);
    await new Promise((resolve) => child.once('message', resolve));
    const bytesSeen = (): Promise<number> => new Promise((resolve) => { child.once('message', (m: { bytes: number }) => resolve(m.bytes)); child.send('?'); });
    const results: Record<'send' | 'publish', number[]> = { send: [], publish: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['send', 'publish'] as const) {
        const before = await bytesSeen();
        const cpu0 = process.cpuUsage();
        // frames leave a turn at a time, as runs send them: one frame per conversation per turn
        for (let r = 0; r < R; r++) {
          if (mode === 'send') {
            for (const list of conns) for (const ws of list) ws.send(FRAME, false);
          } else {
            for (const t of topics) app.publish(t, FRAME, false);
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        const want = before + M * k * R * FRAME.length;
        while ((await bytesSeen()) < want) await new Promise((resolve) => setTimeout(resolve, 20));
        const cpu = process.cpuUsage(cpu0);
        results[mode].push(((cpu.user + cpu.system) / 1e6) * (100_000 / (M * k * R)));
      }
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const mode of ['send', 'publish'] as const) {
      const ratio = mode === 'publish' ? (mean(results.publish) / mean(results.send)).toFixed(2) : '1';
      console.log(`${String(k).padStart(13)}  ${mode.padEnd(8)}  ${results[mode].map((x) => x.toFixed(3)).join(' ').padEnd(34)}  ${mean(results[mode]).toFixed(3).padStart(5)}  ${ratio.padStart(13)}`);
    }
    child.kill();
    while (conns.some((list) => list.length > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.exit(0);
}

if (process.argv[2] === 'peers') await peers(Number(process.argv[3]), Number(process.argv[4]));
else await server();
