// The load client of the streaming bench: M conversations, one receiving socket each, one
// message each, every token's latency from its emit time (written into the token by the
// fake model) to its arrival here. Frames are inspected as text: parsing every delta as
// JSON would make this client, not the server, the bottleneck.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface Endpoints {
  // where the receiving socket of a conversation connects
  receive(conv: string): string;
  // where the message is sent from, when not from the receiving socket (another replica)
  send?(conv: string): string;
}

export interface StreamResult {
  latencies: Float64Array; // ms, one per delivered token
  delivered: number;
  expected: number;
  completed: number;
  failed: number;
  closed: number;
}

const MARK = /~([0-9a-z]+)/g;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connect(url: string, token: string, onText: (ws: WebSocket, t: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let ready = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (d) => {
      const t = d.toString();
      if (!ready && t.startsWith('{"type":"ready"')) {
        ready = true;
        resolve(ws);
        return;
      }
      if (t.startsWith('{"type":"ping"')) {
        ws.send(JSON.stringify({ type: 'pong', id: (JSON.parse(t) as { id: string }).id }));
        return;
      }
      onText(ws, t);
    });
    ws.on('error', (err) => { if (!ready) reject(err); });
    ws.on('close', (code) => { if (!ready) reject(new Error(`closed ${code} before ready`)); });
  });
}

// Opens sockets `width` at a time.
async function openAll(n: number, open: (i: number) => Promise<WebSocket>, width = 200): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => open(i + j)))));
  return out;
}

export async function streamLoad(o: {
  convs: string[]; token: string; ends: Endpoints; tokensPerAnswer: number; question: string; spreadMs: number; timeoutMs: number;
  onStreaming?: () => Promise<void> | void;
}): Promise<{ result: StreamResult; sockets: WebSocket[] }> {
  const M = o.convs.length;
  const epoch = Number(process.env.BENCH_EPOCH);
  const now10 = () => (performance.timeOrigin + performance.now() - epoch) * 10;
  const latencies = new Float64Array(M * o.tokensPerAnswer + 1024);
  let delivered = 0;
  let completed = 0;
  let failed = 0;
  let closed = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((r) => { finished = r; });
  const end = () => { if (completed + failed + closed >= M) finished(); };
  const onText = (_ws: WebSocket, t: string) => {
    if (t.startsWith('{"type":"response.delta"')) {
      const at = now10();
      MARK.lastIndex = 0;
      for (let m = MARK.exec(t); m; m = MARK.exec(t)) {
        if (delivered < latencies.length) latencies[delivered] = (at - parseInt(m[1]!, 36)) / 10;
        delivered++;
      }
    } else if (t.startsWith('{"type":"response.completed"')) {
      completed++;
      end();
    } else if (t.startsWith('{"type":"run.failed"')) {
      failed++;
      end();
    }
  };
  const receivers = await openAll(M, (i) => connect(o.ends.receive(o.convs[i]!), o.token, onText));
  for (const ws of receivers) ws.on('close', () => { closed++; end(); });
  await o.onStreaming?.();
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < M; i++) {
    const due = t0 + (i * o.spreadMs) / M;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const msg = JSON.stringify({ type: 'message', client_msg_id: randomUUID(), content: o.question });
    if (!o.ends.send) receivers[i]!.send(msg);
    else {
      // The run goes to the replica that received the message; the sender leaves once
      // it is acknowledged, so only the receiving replica has a socket in the conversation.
      const url = o.ends.send(o.convs[i]!);
      sends.push(connect(url, o.token, (ws, t) => { if (t.startsWith('{"type":"ack"')) ws.close(); }).then((ws) => { ws.send(msg); }));
    }
  }
  await Promise.all(sends);
  const progress = setInterval(() => console.error(`  … ${M} streams: ${delivered} tokens, ${completed} completed, ${failed} failed, ${closed} closed`), 10_000);
  await Promise.race([allDone, sleep(o.timeoutMs)]);
  clearInterval(progress);
  return { result: { latencies: latencies.subarray(0, Math.min(delivered, latencies.length)), delivered, expected: M * o.tokensPerAnswer, completed, failed, closed }, sockets: receivers };
}

export function percentile(xs: Float64Array, p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
