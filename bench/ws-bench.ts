// `npm run bench`: WebSocket gateway figures measured from the client side against the
// real server (a child process) and a real PostgreSQL (DATABASE_URL or embedded).
//   1. connect-to-ready latency while opening sockets at a fixed rate
//   2. message-to-ack latency at a fixed message rate (AGENT=none: the ack path alone;
//      agent runs are measured by chat_agent_* metrics, not here)
//   3. ping round trip under that load
//   4. server RSS per idle authenticated socket
// Beside the client-side figures 1 and 2, the server's own histograms for the same phase:
// on a small machine the bench client, the server and PostgreSQL share the cores, and the
// difference between the two is what the client side and the scheduler added.
// Prints a table; it asserts nothing. Sizes can be overridden with BENCH_* variables.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { diffBuckets, histogramQuantile, parseBuckets, type Buckets } from './histogram.js';

const num = (name: string, def: number) => Number(process.env[name] ?? def);
const CONNECT_N = num('BENCH_CONNECT_N', 1000);
const CONNECT_RATE = num('BENCH_CONNECT_RATE', 200);
const MSG_RATE = num('BENCH_MSG_RATE', 1000);
const MSG_SECONDS = num('BENCH_MSG_SECONDS', 10);
const IDLE_N = num('BENCH_IDLE_N', 10_000);
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const ROOT = path.resolve(import.meta.dirname, '..');

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function token(sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
}

async function startServer(dbUrl: string): Promise<{ url: string; metricsUrl: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: dbUrl, JWT_SECRET: SECRET, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AGENT: 'none', MAX_CONNECTIONS_PER_USER: '100000', MAX_PENDING_PER_IP: '100000', USER_MESSAGE_RATE_PER_SEC: '100000', USER_MESSAGE_BURST: '100000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [port, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      const t = b.toString();
      const m = /"msg":"listening"/.test(t) ? /"port":(\d+),"metrics_port":(\d+)/.exec(t) : null;
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, child };
}

async function scrape(url: string, name: string): Promise<Buckets> {
  return parseBuckets(await (await fetch(url)).text(), name);
}

// p50/p99 of what the server itself measured between two snapshots of one histogram.
function serverRow(label: string, after: Buckets, before: Buckets): [string, string, string] {
  const d = diffBuckets(after, before);
  const ms = (q: number) => (histogramQuantile(q, d) * 1000).toFixed(2);
  return [label, `p50 ≈ ${ms(0.5)} ms`, `p99 ≈ ${ms(0.99)} ms`];
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

interface Client {
  ws: WebSocket;
  pending: Map<string, number>;
}

function open(url: string, conv: string, tok: string, onFrame?: (f: { type: string; [k: string]: unknown }) => void): Promise<{ c: Client; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/conversations/${conv}`, { perMessageDeflate: false });
    const c: Client = { ws, pending: new Map() };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: tok })));
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id?: string; [k: string]: unknown };
      if (f.type === 'ready') resolve({ c, ms: performance.now() - t0 });
      else if (f.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: f.id }));
      onFrame?.(f);
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

async function main(): Promise<void> {
  let dbUrl = process.env.DATABASE_URL;
  let stopPg: (() => Promise<void>) | undefined;
  if (!dbUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-bench-pg-'));
    await import('node:fs/promises').then((f) => f.chmod(dir, 0o755));
    const pg = await startEmbeddedPostgres({ dir });
    dbUrl = pg.url;
    if (process.env.BENCH_SYNCHRONOUS_COMMIT === 'off') {
      // Diagnosis only: shows how much of the ack tail is the WAL flush. The product
      // never acks before a durable commit.
      const { default: postgres } = await import('postgres');
      const admin = postgres(pg.adminUrl, { max: 1 });
      await admin`ALTER SYSTEM SET synchronous_commit = off`;
      await admin`SELECT pg_reload_conf()`;
      await admin.end();
    }
    stopPg = async () => { await pg.stop(); await rm(dir, { recursive: true, force: true }); };
  }
  const server = await startServer(dbUrl);
  const rows: [string, string, string][] = [];
  try {
    const tok = await token('bench');
    // Latency phases: one socket per conversation, the usual case, so the figures are the
    // server's and not this client's fan-out. Idle phase: ten sockets per conversation
    // (a user's tabs and devices), since presence goes to each socket on every join.
    const convs: string[] = [];
    for (let i = 0; i < Math.max(CONNECT_N, Math.ceil(IDLE_N / 10)); i++) {
      const res = await fetch(`${server.url}/api/v1/conversations`, { method: 'POST', headers: { authorization: `Bearer ${tok}` } });
      convs.push(((await res.json()) as { id: string }).id);
    }
    const conv = (i: number) => convs[i % convs.length]!;
    const idleConv = (i: number) => convs[Math.floor(i / 10) % convs.length]!;

    // Warm-up, not measured: JIT, and postgres.js preparing each statement once per pooled
    // connection, would otherwise land in the slowest 1% that p99 reports.
    const WARMUP = num('BENCH_WARMUP', 200);
    const warm = await Promise.all(Array.from({ length: WARMUP }, (_, i) => open(server.url, conv(i), tok)));
    for (let i = 0; i < WARMUP * 5; i++) {
      warm[i % WARMUP]!.c.ws.send(JSON.stringify({ type: 'message', client_msg_id: randomUUID(), content: `warm-up ${i}` }));
      if (i % 50 === 0) await sleep(20);
    }
    await sleep(1000);
    for (const w of warm) w.c.ws.close();
    await sleep(500);

    // 1. connect-to-ready at a fixed rate
    const connectMs: number[] = [];
    const clients: Client[] = [];
    const acks = new Map<string, number>();
    const ackMs: number[] = [];
    const rtt: number[] = [];
    const onFrame = (f: { type: string; [k: string]: unknown }) => {
      if (f.type === 'ack') {
        const t = acks.get(f.client_msg_id as string);
        if (t !== undefined) ackMs.push(performance.now() - t);
      } else if (f.type === 'pong') {
        const t = acks.get(`ping:${f.id as string}`);
        if (t !== undefined) rtt.push(performance.now() - t);
      }
    };
    const CONNECT = 'chat_ws_connect_duration_seconds';
    const connectBefore = await scrape(server.metricsUrl, CONNECT);
    const t0 = performance.now();
    const opens: Promise<void>[] = [];
    for (let i = 0; i < CONNECT_N; i++) {
      const due = t0 + (i * 1000) / CONNECT_RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      opens.push(open(server.url, conv(i), tok, onFrame).then(({ c, ms }) => { connectMs.push(ms); clients.push(c); }));
    }
    await Promise.all(opens);
    rows.push([`connect → ready (${CONNECT_N} sockets at ${CONNECT_RATE}/s)`, `p50 ${pct(connectMs, 50).toFixed(2)} ms`, `p99 ${pct(connectMs, 99).toFixed(2)} ms`]);
    rows.push(['  server side: upgrade → ready sent (histogram)', ...serverRow('', await scrape(server.metricsUrl, CONNECT), connectBefore).slice(1)] as [string, string, string]);

    // 2 + 3. acks and ping RTT at a fixed message rate, over the sockets just opened
    const total = MSG_RATE * MSG_SECONDS;
    const ACK = 'chat_ws_message_ack_duration_seconds';
    const ackBefore = await scrape(server.metricsUrl, ACK);
    const m0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = m0 + (i * 1000) / MSG_RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const c = clients[i % clients.length]!;
      const id = randomUUID();
      acks.set(id, performance.now());
      c.ws.send(JSON.stringify({ type: 'message', client_msg_id: id, content: `bench message ${i}` }));
      if (i % 20 === 0) {
        const pid = `p${i}`;
        acks.set(`ping:${pid}`, performance.now());
        c.ws.send(JSON.stringify({ type: 'ping', id: pid }));
      }
    }
    const deadline = performance.now() + 10_000;
    while (ackMs.length < total && performance.now() < deadline) await sleep(50);
    const achieved = total / ((performance.now() - m0) / 1000);
    rows.push([`message → ack (${total} msgs at ${MSG_RATE}/s, AGENT=none; got ${ackMs.length})`, `p50 ${pct(ackMs, 50).toFixed(2)} ms`, `p99 ${pct(ackMs, 99).toFixed(2)} ms`]);
    rows.push(serverRow('  server side: frame received → ack sent, commit included (histogram)', await scrape(server.metricsUrl, ACK), ackBefore));
    rows.push([`ping RTT under that load (${rtt.length} pings)`, `p50 ${pct(rtt, 50).toFixed(2)} ms`, `p99 ${pct(rtt, 99).toFixed(2)} ms`]);
    void achieved;
    for (const c of clients) c.ws.close();
    await sleep(1000);

    // 4. idle authenticated sockets: RSS growth per socket
    const before = await rssKb(server.child.pid!);
    const idle: Client[] = [];
    for (let i = 0; i < IDLE_N; i += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, IDLE_N - i) }, (_, j) => open(server.url, idleConv(i + j), tok)));
      idle.push(...batch.map((b) => b.c));
    }
    await sleep(2000);
    const after = await rssKb(server.child.pid!);
    rows.push([`idle authenticated sockets (${IDLE_N})`, `RSS +${((after - before) / 1024).toFixed(1)} MiB`, `${(((after - before) * 1024) / IDLE_N / 1024).toFixed(2)} KB/socket`]);
    for (const c of idle) c.ws.terminate();
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    await stopPg?.();
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  const sync = process.env.BENCH_SYNCHRONOUS_COMMIT === 'off' ? ', synchronous_commit=off (diagnosis)' : '';
  console.log(`\nchat-backend WebSocket benchmark (${os.cpus().length} cores, Node ${process.version}${sync}; after a warm-up of ${process.env.BENCH_WARMUP ?? 200} sockets)\n`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(18)}  ${c.padStart(20)}`);
  console.log('\ntargets: connect p99 < 5 ms at 200/s; ack p99 < 10 ms at 1000/s; idle < 3 KB/socket');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
