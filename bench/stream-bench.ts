// `npm run bench:stream`: streamed answers, the product's hot path, measured beside a
// plain Node `ws` relay in the same run. A fake OpenAI-compatible server streams tokens at
// 30/s per answer (each token carries its emit time); M conversations each send one
// message and receive the answer. Per M: token latency p50/p99 (model server emit →
// client receipt; "steady p99" counts only tokens emitted a second after the last message
// went out, without the storm of runs starting), delivered share, CPU-seconds per 100 000 delivered tokens for the
// server and for PostgreSQL (from /proc), WAL bytes per token, and ratios to the relay.
// Scenarios: relay; one replica; two replicas with runs on one and clients on the other
// (PostgreSQL bus: two; NATS bus: two-nats), and three replicas with the clients split over
// two of them (three, three-nats), each printing what every replica's bus published and received;
// and answer length (300 vs 4000 tokens) at equal rate. Asserts nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.js';
import { streamLoad, type Endpoints } from './stream/load.js';
import { busCounters, busDelta } from './stream/bus-counters.js';
import { cpuSeconds, rssMb, treeCpuSeconds } from './stream/proc.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const EPOCH = Date.now();
const list = (name: string, def: string) => (process.env[name] ?? def).split(',').filter(Boolean).map(Number);
const SWEEP = list('BENCH_STREAMS', '200,500,1000,2000');
const SWEEP2 = list('BENCH_STREAMS_2R', process.env.BENCH_STREAMS ?? '200,500,1000,2000');
const TOKENS = Number(process.env.BENCH_TOKENS ?? 300);
const LONG_M = Number(process.env.BENCH_LONG_STREAMS ?? 100);
const LONG_TOKENS = Number(process.env.BENCH_LONG_TOKENS ?? 4000);
const LONG_RATE = Number(process.env.BENCH_LONG_RATE ?? 100);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'relay,one,two,two-nats,three,three-nats,length').split(',');

interface Proc { child: ChildProcess; port: number; metricsPort?: number }

// The harness (fake model server and load client) is Go: in Node it took as much CPU as
// the relay it measured, and on 2 cores the harness must not be what saturates.
const LOADGEN = execFileSync(path.join(ROOT, 'bench/loadgen/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

async function spawnPrinting(args: string[], env: NodeJS.ProcessEnv, match: RegExp, cmd: string[] = [process.execPath, '--import', 'tsx']): Promise<Proc> {
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = match.exec(out);
      if (m) resolve(Number(m[1]));
      if (out.length > 1e6) out = out.slice(-1e5);
    });
    child.on('exit', (c) => reject(new Error(`${args[0]} exited ${c}`)));
  });
  return { child, port };
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (i > 100) throw new Error(`nothing listens on port ${port} after 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stop = async (p: Proc | undefined) => {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
};

// The response cache is off unless BENCH_CACHE=1 (it is on by default in the product):
// every question is distinct, so with it on each answer is a miss that is also stored.
function serverEnv(dbUrl: string, modelUrl: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: dbUrl, JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    AGENT: 'openai', LLM_BASE_URL: modelUrl, LLM_MODEL: 'bench', CACHE_ENABLED: process.env.BENCH_CACHE === '1' ? 'true' : 'false', LLM_IDLE_TIMEOUT_MS: '60000',
    MAX_CONNECTIONS_PER_USER: '100000', MAX_PENDING_PER_IP: '100000', USER_MESSAGE_RATE_PER_SEC: '100000', USER_MESSAGE_BURST: '100000',
  };
}

interface Row {
  scenario: string; m: number; tokens: number; p50: number; p99: number; steadyP99: number | null; deliveredPct: number;
  serverCpu: number; pgCpu: number; walPerToken: number; rss: number; failed: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-stream-bench-pg-'));
  await chmod(dir, 0o755);
  // BENCH_PG_STATS=1: after each row, the statements that cost PostgreSQL the most, per run.
  const pgStats = process.env.BENCH_PG_STATS === '1';
  const pg = await startEmbeddedPostgres({ dir, ...(pgStats ? { settings: { shared_preload_libraries: 'pg_stat_statements' } } : {}) });
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => undefined });
  const stats = pgStats ? postgres(pg.url, { max: 1, onnotice: () => undefined }) : undefined;
  if (stats) await stats`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  const [dataDir] = await admin<{ data_directory: string }[]>`SHOW data_directory`;
  const postmaster = Number((await readFile(path.join(dataDir!.data_directory, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('4h').sign(new TextEncoder().encode(SECRET));
  const model = await spawnPrinting(['model', '-epoch', String(EPOCH), '-tokens', String(TOKENS)], {}, /"port":(\d+)/, [LOADGEN]);
  const modelUrl = `http://127.0.0.1:${model.port}/v1`;
  const rows: Row[] = [];
  let relay: Proc | undefined;
  const servers: Proc[] = [];
  try {
    const measure = async (scenario: string, m: number, tokens: number, pids: number[], ends: Endpoints, convs: string[], question: string, withPg: boolean, bus: Proc[] = []) => {
      const bus0 = await Promise.all(bus.map((p) => busCounters(p.metricsPort!)));
      const cpu0 = await Promise.all(pids.map(cpuSeconds));
      const pg0 = withPg ? await treeCpuSeconds(postmaster) : 0;
      const [w0] = withPg ? await admin<{ l: string }[]>`SELECT pg_current_wal_lsn()::text AS l` : [{ l: '0/0' }];
      const result = await streamLoad(LOADGEN, { epochMs: EPOCH, convs, token, ends, tokens, question, spreadMs: 2000, timeoutMs: (tokens / Number(/rate=(\d+)/.exec(question)?.[1] ?? 30)) * 1000 + 60_000 });
      const cpu1 = await Promise.all(pids.map(cpuSeconds));
      const pg1 = withPg ? await treeCpuSeconds(postmaster) : 0;
      const [wal] = withPg ? await admin<{ b: string }[]>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${w0!.l}::pg_lsn)::text AS b` : [{ b: '0' }];
      const rss = Math.max(...(await Promise.all(pids.map(rssMb))));
      const per100k = (s: number) => (s / Math.max(1, result.delivered)) * 100_000;
      const row: Row = {
        scenario, m, tokens, p50: result.p50, p99: result.p99, steadyP99: result.steadyP99, deliveredPct: (100 * result.delivered) / result.expected,
        serverCpu: per100k(cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0)), pgCpu: per100k(pg1 - pg0),
        walPerToken: Number(wal!.b) / Math.max(1, result.delivered), rss, failed: result.failed + result.closed,
      };
      rows.push(row);
      print([row], false);
      for (const [i, p] of bus.entries()) {
        const at = pids.indexOf(p.child.pid!);
        const cpu = at < 0 ? '' : `CPU-s/100k ${per100k(cpu1[at]! - cpu0[at]!).toFixed(2)}; `;
        console.log(`    replica ${i + 1}: ${cpu}bus ${busDelta(bus0[i]!, await busCounters(p.metricsPort!))}`);
      }
      if (stats && withPg) {
        const top = await stats<{ calls: string; ms: string; wal: string; query: string }[]>`
          SELECT calls::text, round(total_exec_time::numeric, 1)::text AS ms, wal_bytes::text AS wal, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 110) AS query
          FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12`;
        for (const t of top) console.log(`    ${(Number(t.calls) / m).toFixed(2).padStart(8)} calls/run ${t.ms.padStart(9)} ms ${t.wal.padStart(11)} B WAL  ${t.query}`);
        await stats`SELECT pg_stat_statements_reset()`;
      }
      await new Promise((r) => setTimeout(r, 1500)); // let closes and finishing writes settle
      return result;
    };
    const newConvs = async (base: string, m: number) => {
      const out: string[] = [];
      for (let i = 0; i < m; i += 100) {
        out.push(...(await Promise.all(Array.from({ length: Math.min(100, m - i) }, async () => {
          const res = await fetch(`${base}/api/v1/conversations`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
          return ((await res.json()) as { id: string }).id;
        }))));
      }
      return out;
    };
    const q = (tokens: number, rate = 30) => `stream tokens=${tokens} rate=${rate}`;

    // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the servers (and the relay).
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // The relay runs before our rows and again after them: the machine's speed drifts over
    // a run of minutes (the relay's own cost moved by up to 2× between runs), so each ratio
    // is to the mean of the two, and the relay's drift is printed.
    const relayRows = async (again: boolean) => {
      if (!SCENARIOS.includes('relay')) return;
      relay = await spawnPrinting([path.join(ROOT, 'bench/stream/relay.ts')], { JWT_SECRET: SECRET, LLM_BASE_URL: modelUrl }, /"port":(\d+)/, [process.execPath, ...nodeArgs, '--import', 'tsx']);
      const ends = { receive: () => `ws://127.0.0.1:${relay!.port}/` };
      const tag = again ? ', again' : '';
      for (const m of SWEEP) await measure(`ws relay (baseline${tag})`, m, TOKENS, [relay.child.pid!], ends, Array.from({ length: m }, () => randomUUID()), q(TOKENS), false);
      if (SCENARIOS.includes('length')) {
        for (const t of [TOKENS, LONG_TOKENS]) await measure(`ws relay, length${tag}`, LONG_M, t, [relay.child.pid!], ends, Array.from({ length: LONG_M }, () => randomUUID()), q(t, LONG_RATE), false);
      }
      await stop(relay);
      relay = undefined;
    };
    await relayRows(false);
    // The server logs at warn (its info lines would cost CPU here), so it is given its
    // port and polled until healthy.
    const start = async (extra: NodeJS.ProcessEnv = {}): Promise<Proc> => {
      const port = await freePort();
      const metricsPort = await freePort();
      const child = spawn(process.execPath, [...nodeArgs, ...(process.env.BENCH_SERVER_DIST ? [path.join(ROOT, 'dist/src/main.js')] : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')]), 'serve'], {
        cwd: ROOT, env: { ...process.env, ...serverEnv(pg.url, modelUrl), ...extra, PORT: String(port), METRICS_PORT: String(metricsPort) }, stdio: ['ignore', 'inherit', 'inherit'],
      });
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}`);
        if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return { child, port, metricsPort };
        if (i > 600) throw new Error('server did not become healthy within 60 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    if (SCENARIOS.includes('one') || SCENARIOS.includes('length')) {
      const a = await start();
      servers.push(a);
      const base = `http://127.0.0.1:${a.port}`;
      const ends = { receive: (c: string) => `ws://127.0.0.1:${a.port}/ws/conversations/${c}` };
      await measure('warm-up (not counted)', 50, 30, [a.child.pid!], ends, await newConvs(base, 50), q(30, 60), true);
      rows.pop();
      if (SCENARIOS.includes('one')) for (const m of SWEEP) await measure('one replica', m, TOKENS, [a.child.pid!], ends, await newConvs(base, m), q(TOKENS), true, [a]);
      if (SCENARIOS.includes('length')) for (const t of [TOKENS, LONG_TOKENS]) await measure('one replica, length', LONG_M, t, [a.child.pid!], ends, await newConvs(base, LONG_M), q(t, LONG_RATE), true, [a]);
      await stop(servers.pop());
    }
    // Two or three replicas, runs on A and clients on the others (with three, half the
    // conversations' clients on B and half on C: each should receive only its own
    // conversations' events), over each bus asked for: 'two'/'three' are the PostgreSQL bus,
    // '-nats' a real nats-server (its CPU counts with the servers').
    for (const sc of ['two', 'two-nats', 'three', 'three-nats'].filter((b) => SCENARIOS.includes(b))) {
      let nats: Proc | undefined;
      const env: NodeJS.ProcessEnv = {};
      if (sc.endsWith('-nats')) {
        const bin = execFileSync(path.join(ROOT, 'tools/nats/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
        const port = await freePort();
        nats = { child: spawn(bin, ['--addr', '127.0.0.1', '--port', String(port)], { stdio: 'ignore' }), port };
        await waitPort(port);
        Object.assign(env, { BUS: 'nats', NATS_URL: `nats://127.0.0.1:${port}` });
      }
      const replicas: Proc[] = [];
      for (let i = 0; i < (sc.startsWith('three') ? 3 : 2); i++) replicas.push(await start(env));
      servers.push(...replicas);
      const [a, ...clientSide] = replicas as [Proc, ...Proc[]];
      const pids = [...replicas.map((r) => r.child.pid!), ...(nats ? [nats.child.pid!] : [])];
      const base = `http://127.0.0.1:${a.port}`;
      const receiverOf = new Map<string, Proc>();
      const convsFor = async (m: number) => {
        const convs = await newConvs(base, m);
        convs.forEach((c, i) => receiverOf.set(c, clientSide[i % clientSide.length]!));
        return convs;
      };
      const ends = {
        receive: (c: string) => `ws://127.0.0.1:${receiverOf.get(c)!.port}/ws/conversations/${c}`,
        send: (c: string) => `ws://127.0.0.1:${a.port}/ws/conversations/${c}`,
      };
      await measure('warm-up (not counted)', 50, 30, pids, ends, await convsFor(50), q(30, 60), true);
      rows.pop();
      const label = `${replicas.length === 2 ? 'two' : 'three'} replicas, ${nats ? 'NATS' : 'PostgreSQL'} bus`;
      for (const m of SWEEP2) await measure(label, m, TOKENS, pids, ends, await convsFor(m), q(TOKENS), true, replicas);
      for (const r of replicas) await stop(r);
      servers.splice(servers.length - replicas.length);
      await stop(nats);
    }
    if (SCENARIOS.some((sc) => sc !== 'relay')) await relayRows(true);
  } finally {
    await stop(relay);
    for (const s of servers) await stop(s);
    await stop(model);
    await admin.end();
    await stats?.end();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`\nstreamed answers: ${os.cpus().length} cores, Node ${process.version}; ${TOKENS}-token answers at 30 tokens/s, messages spread over 2 s; length rows: ${LONG_M} streams at ${LONG_RATE} tokens/s\n`);
  print(rows, true);
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

// The relay's rows at the same load as r (before and after ours).
const relayOf = (rows: Row[], r: Row) => rows.filter((b) => b.scenario.startsWith('ws relay') && b.m === r.m && b.tokens === r.tokens && b.scenario.includes('length') === r.scenario.includes('length'));

// A row's baseline: its relay rows, averaged.
function baseline(rows: Row[], r: Row): { cpu: number; p99: number } | undefined {
  const relay = relayOf(rows, r);
  if (relay.length === 0 || relay.includes(r)) return undefined;
  const mean = (f: (b: Row) => number) => relay.reduce((a, b) => a + f(b), 0) / relay.length;
  return { cpu: mean((b) => b.serverCpu), p99: mean((b) => b.p99) };
}

function print(rows: Row[], header: boolean): void {
  if (header) console.log('scenario                                  streams tokens  p50 ms  p99 ms  steady p99  delivered  server CPU-s/100k  PG CPU-s/100k  WAL B/token  RSS MB  not completed  CPU ×relay  p99 ×relay');
  for (const r of rows) {
    const b = baseline(rows, r);
    const total = r.serverCpu + r.pgCpu;
    const ratio = b ? `${f(total / b.cpu, 2)}×` : '';
    const p99r = b ? `${f(r.p99 / b.p99, 2)}×` : '';
    console.log(`${r.scenario.padEnd(42)}${String(r.m).padStart(7)}${String(r.tokens).padStart(7)}${f(r.p50).padStart(8)}${f(r.p99).padStart(8)}${f(r.steadyP99 ?? NaN).padStart(12)}${(f(r.deliveredPct, 2) + '%').padStart(11)}${f(r.serverCpu, 2).padStart(19)}${f(r.pgCpu, 2).padStart(15)}${f(r.walPerToken, 0).padStart(13)}${f(r.rss, 0).padStart(8)}${String(r.failed).padStart(15)}${ratio.padStart(12)}${p99r.padStart(12)}`);
  }
  if (!header) return;
  const drifts = rows.filter((r) => r.scenario.startsWith('ws relay') && r.scenario.includes('again'))
    .map((r) => `${r.m}${r.scenario.includes('length') ? `×${r.tokens}` : ''}: ${f(r.serverCpu / relayOf(rows, r)[0]!.serverCpu, 2)}`);
  if (drifts.length > 0) console.log(`\nratios are to the mean of the relay's two rows; its CPU at the end of the run over its CPU at the start: ${drifts.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
