// `npm run bench:bus`: the streaming scenario across replicas, the PostgreSQL bus beside
// the NATS bus in the same run. For each bus and replica count, every stream is one
// conversation with a socket on the replica that runs the answer and one on the next
// replica, so each token crosses the bus once. Measured:
//   - cross-replica delivery: for each delta, arrival on the remote socket minus arrival
//     on the runner's own socket (same client clock), p50/p99
//   - events each replica received from the bus (chat_bus_received_total), to see whether
//     a replica's share grows with the number of replicas
// Real server processes, a real PostgreSQL (DATABASE_URL or embedded) and a real
// nats-server (tools/nats/build.sh). Prints a table; it asserts nothing.
//   BENCH_STREAMS (2000), BENCH_TOKEN_DELAY_MS (33 ≈ 30 tokens/s), BENCH_BUSES (postgres,nats),
//   BENCH_REPLICAS (2,3), BENCH_TIMEOUT_S (120)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startEmbeddedPostgres } from '../src/db/embedded.js';

const num = (name: string, def: number) => Number(process.env[name] ?? def);
const STREAMS = num('BENCH_STREAMS', 2000);
const TOKEN_DELAY_MS = num('BENCH_TOKEN_DELAY_MS', 33);
const TIMEOUT_S = num('BENCH_TIMEOUT_S', 120);
const BUSES = (process.env.BENCH_BUSES ?? 'postgres,nats').split(',');
const REPLICAS = (process.env.BENCH_REPLICAS ?? '2,3').split(',').map(Number);
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const ROOT = path.resolve(import.meta.dirname, '..');
const PROMPT = 'Describe a long walk through an old forest at dawn';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Server { url: string; metricsUrl: string; child: ChildProcess }

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env, ...env, JWT_SECRET: SECRET, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AGENT: 'builtin',
      AGENT_TOKEN_DELAY_MS: String(TOKEN_DELAY_MS), MAX_CONNECTIONS_PER_USER: '100000', MAX_PENDING_PER_IP: '100000',
      USER_MESSAGE_RATE_PER_SEC: '100000', USER_MESSAGE_BURST: '100000', DB_POOL_MAX: '20',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [port, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      const m = /"port":(\d+),"metrics_port":(\d+)/.exec(b.toString());
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, child };
}

async function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

async function received(s: Server): Promise<number> {
  const text = await (await fetch(s.metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('chat_bus_received_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function openSocket(base: string, conv: string, tok: string, onFrame: (f: Record<string, any>, at: number) => void): Promise<WebSocket> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/conversations/${conv}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (d) => {
      const at = performance.now();
      const f = JSON.parse(d.toString()) as Record<string, any>;
      if (f.type === 'ready') resolve();
      if (f.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: f.id }));
      onFrame(f, at);
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token: tok })));
  });
  return ws;
}

interface Result { bus: string; replicas: number; streams: number; completed: number; deltas: number; p50: number; p99: number; perReplica: number[] }

async function scenario(bus: string, replicas: number, dbUrl: string, natsUrl: string | undefined, tok: string): Promise<Result> {
  const env: Record<string, string> = { DATABASE_URL: dbUrl, BUS: bus, ...(bus === 'nats' ? { NATS_URL: natsUrl! } : {}) };
  const first = await startServer(env);
  const servers = [first, ...(await Promise.all(Array.from({ length: replicas - 1 }, () => startServer(env))))];
  try {
    const convs: string[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const res = await fetch(`${servers[i % replicas]!.url}/api/v1/conversations`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: '{"title":"bench"}' });
      convs.push(((await res.json()) as { id: string }).id);
    }
    const local = new Map<string, number>(); // run_id:offset → arrival on the runner's socket
    const lags: number[] = [];
    let completed = 0;
    const sockets: WebSocket[] = [];
    const runners: WebSocket[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const runner = servers[i % replicas]!;
      const watcher = servers[(i + 1) % replicas]!;
      runners.push(await openSocket(runner.url, convs[i]!, tok, (f, at) => {
        if (f.type === 'response.delta') local.set(`${f.run_id}:${f.offset}`, at);
      }));
      sockets.push(await openSocket(watcher.url, convs[i]!, tok, (f, at) => {
        if (f.type === 'response.delta') {
          const t = local.get(`${f.run_id}:${f.offset}`);
          if (t !== undefined) lags.push(at - t);
        }
        if (f.type === 'response.completed') completed++;
      }));
    }
    sockets.push(...runners);
    const before = await Promise.all(servers.map(received));
    // Start the answers over one second, as users would, not in one tick.
    for (let i = 0; i < STREAMS; i++) {
      runners[i]!.send(JSON.stringify({ type: 'message', client_msg_id: randomUUID(), content: PROMPT }));
      if (i % Math.max(1, Math.floor(STREAMS / 50)) === 0) await sleep(20);
    }
    const deadline = Date.now() + TIMEOUT_S * 1000;
    while (completed < STREAMS && Date.now() < deadline) await sleep(200);
    const after = await Promise.all(servers.map(received));
    for (const ws of sockets) ws.close();
    return { bus, replicas, streams: STREAMS, completed, deltas: lags.length, p50: pct(lags, 50), p99: pct(lags, 99), perReplica: after.map((a, i) => a - before[i]!) };
  } finally {
    await Promise.all(servers.map(stop));
  }
}

async function main(): Promise<void> {
  let dbUrl = process.env.DATABASE_URL;
  let stopPg = async () => undefined as void;
  if (!dbUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-bus-bench-pg-'));
    const pg = await startEmbeddedPostgres({ dir });
    dbUrl = pg.url;
    stopPg = async () => { await pg.stop(); await rm(dir, { recursive: true, force: true }); };
  }
  let nats: ChildProcess | undefined;
  let natsUrl: string | undefined;
  if (BUSES.includes('nats')) {
    const bin = execFileSync(path.join(ROOT, 'tools/nats/build.sh'), { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim().split('\n').at(-1)!;
    const port = await freePort();
    nats = spawn(bin, ['--addr', '127.0.0.1', '--port', String(port)], { stdio: 'ignore' });
    natsUrl = `nats://127.0.0.1:${port}`;
    await sleep(500);
  }
  const tok = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  const rows: Result[] = [];
  try {
    for (const bus of BUSES) for (const r of REPLICAS) {
      process.stderr.write(`bus=${bus} replicas=${r} streams=${STREAMS} …\n`);
      rows.push(await scenario(bus, r, dbUrl, natsUrl, tok));
    }
  } finally {
    nats?.kill('SIGTERM');
    await stopPg();
  }
  console.log(`\nstreams=${STREAMS}, token delay ${TOKEN_DELAY_MS} ms, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| bus | replicas | completed | deltas crossed | cross-replica p50 | p99 | events received per replica |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.bus} | ${r.replicas} | ${r.completed}/${r.streams} | ${r.deltas} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.perReplica.join(' / ')} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
