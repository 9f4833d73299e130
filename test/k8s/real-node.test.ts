// Kubernetes for real: the image built from the Dockerfile runs on a real kubelet (containerd,
// runc) — the operator installed by helm, PostgreSQL as a StatefulSet, a ChatBackend applied
// with kubectl whose schema Job runs `migrate` and whose two server pods pass their real
// readiness probe (/health/full) — then clients over WSS through a TLS edge, and faults.
// Everything it creates on the host is removed at the end (see real-node/cluster.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cannotBuildReason, ensureBinaries } from './harness/binaries.js';
import { hostState, leftovers, lockHost, type HostState } from './real-node/host.js';
import { waitFor } from './harness/kube.js';
import { skipOrFail } from '../helpers/skip.js';
import { startRealCluster, type RealCluster } from './real-node/cluster.js';
import { ctr } from './real-node/node-components.js';
import type { ChatClient } from '../../src/client/index.js';
import { buildImages, imageSkipReason, type BuiltImages } from './real-node/images.js';
import { APP_NS, chatBackendManifest, deployPostgres, helmInstallOperator, OPERATOR_NS } from './real-node/workloads.js';
import { clusterSql, startEdge, storedRows, type Edge } from './real-node/edge.js';
import { startLoad } from './real-node/load.js';
import { startPrometheus, type Prometheus } from './real-node/prometheus.js';
import { chartDir } from './harness/helm.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { token } from '../helpers/tokens.js';
import type postgres from 'postgres';

// Runs under `npm test` where it can (root, the Debian tools, Go); elsewhere a skip with the
// reason, and under CI=true a failure.
const skipReason =
  (await imageSkipReason(['containerd', 'ctr', 'iptables', 'conntrack', 'prometheus'])) ??
  skipOrFail(await cannotBuildReason(), (r) => `${r} (CI=true: the real-node suite must run)`);

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
interface Pod {
  metadata: { name: string; labels?: Record<string, string>; creationTimestamp: string };
  status: { phase: string; conditions?: { type: string; status: string; lastTransitionTime: string }[]; containerStatuses?: { ready: boolean; restartCount: number; state?: Record<string, { startedAt?: string }> }[] };
}

const figures: Record<string, number> = {};
const SERVER_PODS = 'app.kubernetes.io/instance=chat,app.kubernetes.io/component=server';

describe.skipIf(skipReason !== undefined)('real node: image, kubelet, helm, operator, ChatBackend', () => {
  let images: BuiltImages;
  let cluster: RealCluster;
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
  const pods = async (ns: string, selector: string) => (await json<{ items: Pod[] }>(['-n', ns, 'get', 'pods', '-l', selector])).items;
  const condition = async (type: string) => (await json<{ status?: { conditions?: Condition[] } }>(['-n', APP_NS, 'get', 'chatbackend', 'chat'])).status?.conditions?.find((c) => c.type === type);

  let hostBefore: HostState;
  let unlockHost: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const started = Date.now();
    unlockHost = await lockHost();
    hostBefore = await hostState();
    // Cold, the image (debootstrap, npm ci: network and disk) and the Go builds (CPU) overlap.
    const binaries = ensureBinaries(['kubernetes', 'etcd', 'kube-node', 'coredns', 'helm']);
    binaries.catch(() => undefined); // awaited below; a failed image build must not leave it unhandled
    images = await buildImages('v1');
    figures.imageBuildSeconds = Math.round((Date.now() - started) / 1000);
    await binaries;
    figures.imageAndBinariesSeconds = Math.round((Date.now() - started) / 1000);
    cluster = await startRealCluster(images);
    Object.assign(figures, Object.fromEntries(Object.entries(cluster.timings).map(([k, v]) => [`start ${k} s`, v])));
  }, 90 * 60_000);

  let edge: Edge | undefined;
  let sql: postgres.Sql | undefined;
  let prom: Prometheus | undefined;
  let promStarted = 0;

  afterAll(async () => {
    console.log(`[real-node] figures: ${JSON.stringify(figures)}`);
    await sql?.end();
    await prom?.stop();
    await edge?.proxy.close();
    await cluster?.stop();
    // Checked apart from the teardown's own bookkeeping: the host is as it was.
    try {
      if (hostBefore && cluster) expect(await leftovers(hostBefore, [cluster.dirs.runDir, cluster.cp.runDir])).toEqual([]);
    } finally {
      await unlockHost?.();
    }
  }, 5 * 60_000);

  it('runs PostgreSQL as a StatefulSet from the local Debian image, reachable by its Service name', async () => {
    await deployPostgres(cluster, images.pgImage);
    const [pg] = await pods(APP_NS, 'app=chat-pg');
    expect(pg!.status.phase).toBe('Running');
  }, 400_000);

  it('helm installs the operator chart; the operator runs as pods of the image', async () => {
    const started = Date.now();
    const [repository, tag] = images.image.split(':') as [string, string];
    await helmInstallOperator(cluster, repository, tag);
    figures.helmInstallToReadySeconds = Math.round((Date.now() - started) / 1000);
    const ops = await pods(OPERATOR_NS, 'app.kubernetes.io/name=chat-backend-operator');
    expect(ops.length).toBe(2);
    for (const p of ops) expect(p.status.containerStatuses?.[0]?.ready).toBe(true);
  }, 400_000);

  it('kubectl apply of a ChatBackend: the schema Job runs migrate, two server pods pass /health/full, Ready=True', async () => {
    const started = Date.now();
    // Slower tokens than the default, so that faults land mid-answer.
    await cluster.kubectl(['apply', '-f', '-'], chatBackendManifest(images.image, { env: [{ name: 'AGENT_TOKEN_DELAY_MS', value: '40' }] }));
    await waitFor('ChatBackend Ready=True', 300_000, async () => (await condition('Ready'))?.status === 'True', 1000);
    figures.applyToReadySeconds = Math.round((Date.now() - started) / 1000);

    const jobs = await json<{ items: { metadata: { name: string }; status: { succeeded?: number } }[] }>(['-n', APP_NS, 'get', 'jobs']);
    expect(jobs.items.length).toBeGreaterThan(0);
    expect(jobs.items[0]!.status.succeeded).toBe(1);
    // Read through the API server from the kubelet: the Job's pod really ran `migrate`.
    const log = await cluster.kubectl(['-n', APP_NS, 'logs', `job/${jobs.items[0]!.metadata.name}`]);
    expect(log).toMatch(/schema ok: \d+ applied/);

    const servers = await pods(APP_NS, SERVER_PODS);
    expect(servers.filter((p) => p.status.containerStatuses?.[0]?.ready).length).toBe(2);
    for (const p of servers) {
      const created = Date.parse(p.metadata.creationTimestamp);
      const ready = Date.parse(p.status.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime);
      figures.serverPodCreateToReadySeconds = Math.max(figures.serverPodCreateToReadySeconds ?? 0, Math.round((ready - created) / 1000));
    }
  }, 400_000);

  it('a real Prometheus scrapes the operator (the chart\'s ServiceMonitor) and the server pods (their prometheus.io annotations) and loads the chart\'s rules', async () => {
    prom = await startPrometheus(cluster, 'chat-operator', OPERATOR_NS);
    promStarted = Date.now() / 1000;
    await waitFor('operator and server targets up', 120_000, async () => {
      const up = await prom!.upTargets();
      return (up[OPERATOR_JOB] ?? 0) >= 2 && (up['kubernetes-pods'] ?? 0) >= 2;
    }, 1000);
    // The operator's series carry the Service's name as job, as the chart's alert expects.
    expect((await prom.query(`up{job="${OPERATOR_JOB}"}`)).length).toBe(2);
    expect((await prom.query('up{job="kubernetes-pods", namespace="chat"} == 1')).length).toBeGreaterThanOrEqual(2);
    // honorLabels: the operator's per-ChatBackend series keep the ChatBackend's namespace.
    await waitFor('chatbackend_ready_replicas of chat/chat', 60_000, async () => (await prom!.query('chatbackend_ready_replicas{namespace="chat", chatbackend="chat"}')).length > 0, 1000);
    const rules = await (await fetch(`${prom.url}/api/v1/rules`)).json() as { data: { groups: { name: string; rules: { name: string; health: string }[] }[] } };
    expect(rules.data.groups.map((g) => g.name).sort()).toEqual(prom.groups.map((g) => g.name).sort());
    for (const g of rules.data.groups) for (const r of g.rules) expect(r.health, r.name).not.toBe('err');
  }, 200_000);

  it('WSS through the TLS edge: the SDK authenticates, streams an answer with a tool call, and the stored rows match', async () => {
    edge = await startEdge(cluster, 'chat');
    sql = await clusterSql(cluster);
    const alice = await token('alice');
    const conv = await edge.createConversation(alice);
    const tools: string[] = [];
    const c = edge.client(conv, alice, { on: { 'tool.call': (t) => tools.push(t.name) } });
    const done = new Promise((r) => c.once('completed', r));
    await c.connect();
    expect(await c.send('What is 12*(3+4)?')).toMatchObject({ seq: 1, duplicate: false });
    await done;
    expect(tools).toEqual(['calculator']);
    const rows = await storedRows(sql, conv);
    expect(c.messages.map((m) => ({ id: m.id, seq: m.seq, role: m.role, status: m.status, content: m.content }))).toEqual(rows);
    expect(rows[1]).toMatchObject({ role: 'assistant', status: 'complete', content: expect.stringContaining('84') });
    c.close();
    // A bad token is refused at the edge's upstream, not silently accepted.
    expect((await edge.request('GET', '/api/v1/conversations', 'not-a-token')).status).toBe(401);
  }, 120_000);

  it('a rolling upgrade to a new image tag under load: schema Job, then rollout; every acked message stored once, every client ends with the stored transcript', async () => {
    const alice = await token('alice');
    const load = await startLoad(edge!, alice, LOAD_CLIENTS, (i, n) => `client ${i} turn ${n}: what is ${i}+${n}?`);
    try {
      await load.progressed(1, 120_000);
      // Same content under a new tag: the pod template changes, so the operator migrates and rolls.
      await ctrTag(cluster, images.image, `${images.image.split(':')[0]}:v2`);
      const started = Date.now();
      await cluster.kubectl(['-n', APP_NS, 'patch', 'chatbackend', 'chat', '--type=merge', '-p', JSON.stringify({ spec: { image: `${images.image.split(':')[0]}:v2` } })]);
      await waitFor('all server pods on v2 and Ready=True', 600_000, async () => {
        const ps = await pods(APP_NS, SERVER_PODS);
        const onV2 = ps.filter((p) => JSON.stringify(p).includes(':v2') && p.status.containerStatuses?.[0]?.ready);
        return ps.length === 2 && onV2.length === 2 && (await condition('Ready'))?.status === 'True';
      }, 1000);
      figures.rollingUpgradeSeconds = Math.round((Date.now() - started) / 1000);
      const jobs = await json<{ items: { metadata: { name: string }; status: { succeeded?: number } }[] }>(['-n', APP_NS, 'get', 'jobs']);
      expect(jobs.items.filter((j) => j.status.succeeded === 1).length).toBeGreaterThanOrEqual(2);
      await load.progressed(1, 120_000);
    } finally {
      await load.stop();
    }
    await settle(load.clients.map((c) => c.client));
    expect(await quiescent(load, sql!)).toEqual([]);
    for (const c of load.clients) c.client.close();
  }, 900_000);

  it('kubectl delete pod of a serving pod mid-answer: its answers end interrupted within seconds, clients reconnect to the other pod and resume', async () => {
    const alice = await token('alice');
    const load = await startLoad(edge!, alice, LOAD_CLIENTS, (i, n) => `client ${i} turn ${n}: ${LONG}`);
    let victim = '';
    try {
      await waitFor('answers streaming', 60_000, async () => load.clients.filter((c) => c.client.messages.some((m) => m.role === 'assistant' && m.status === 'streaming')).length >= LOAD_CLIENTS / 2);
      victim = (await pods(APP_NS, SERVER_PODS))[0]!.metadata.name;
      const started = Date.now();
      await cluster.kubectl(['-n', APP_NS, 'delete', 'pod', victim, '--wait=false']);
      // Answers streaming when the pod went: each must end (complete on the live pod, or
      // interrupted by the recovery of the dead pod's runs), none may stay streaming.
      const inFlight = (await sql!<{ id: string }[]>`SELECT id FROM messages WHERE status = 'streaming' AND conversation_id = ANY(${load.clients.map((c) => c.conv)})`).map((r) => r.id);
      expect(inFlight.length).toBeGreaterThan(0);
      await waitFor('every answer in flight at the delete ended', 120_000, async () => {
        const left = await sql!<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE status = 'streaming' AND id = ANY(${inFlight})`;
        return left[0]!.n === 0;
      }, 250);
      figures.podDeleteAnswersEndedSeconds = Math.round((Date.now() - started) / 100) / 10;
      await waitFor('every client ready again', 120_000, async () => load.clients.every((c) => c.client.state.status === 'ready'), 200);
      figures.podDeleteRecoverySeconds = Math.round((Date.now() - started) / 1000);
      await load.progressed(1, 180_000);
    } finally {
      await load.stop();
    }
    await settle(load.clients.map((c) => c.client));
    expect(await quiescent(load, sql!)).toEqual([]);
    const ends = await sql!<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM messages WHERE role = 'assistant' AND conversation_id = ANY(${load.clients.map((c) => c.conv)}) GROUP BY status`;
    figures.answersInterruptedByPodDelete = ends.find((e) => e.status === 'interrupted')?.n ?? 0;
    for (const c of load.clients) c.client.close();
    // The Deployment replaced the pod.
    await waitFor('two ready server pods again', 300_000, async () => (await pods(APP_NS, SERVER_PODS)).filter((p) => p.status.containerStatuses?.[0]?.ready).length === 2, 1000);
  }, 900_000);

  it('the operator leader deleted mid-reconcile: the standby takes over and the resource converges', async () => {
    const lease = await json<{ spec: { holderIdentity: string } }>(['-n', OPERATOR_NS, 'get', 'lease', 'chat-backend-operator']);
    const leader = lease.spec.holderIdentity;
    const started = Date.now();
    await cluster.kubectl(['-n', APP_NS, 'patch', 'chatbackend', 'chat', '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
    await cluster.kubectl(['-n', OPERATOR_NS, 'delete', 'pod', leader, '--wait=false']);
    await waitFor('3 ready server pods and Ready=True for the new generation', 300_000, async () => {
      const cb = await json<{ metadata: { generation: number }; status?: { conditions?: (Condition & { observedGeneration?: number })[] } }>(['-n', APP_NS, 'get', 'chatbackend', 'chat']);
      const ready = cb.status?.conditions?.find((c) => c.type === 'Ready');
      const ps = (await pods(APP_NS, SERVER_PODS)).filter((p) => p.status.containerStatuses?.[0]?.ready);
      return ready?.status === 'True' && ready.observedGeneration === cb.metadata.generation && ps.length === 3;
    }, 1000);
    figures.operatorTakeoverConvergeSeconds = Math.round((Date.now() - started) / 1000);
    const after = await json<{ spec: { holderIdentity: string } }>(['-n', OPERATOR_NS, 'get', 'lease', 'chat-backend-operator']);
    expect(after.spec.holderIdentity).not.toBe(leader);
  }, 400_000);

  it('the PostgreSQL pod restarted under load: server pods stay up, nothing acked is lost', async () => {
    const alice = await token('alice');
    const restartsBefore = (await pods(APP_NS, SERVER_PODS)).map((p) => p.status.containerStatuses?.[0]?.restartCount ?? 0);
    const load = await startLoad(edge!, alice, LOAD_CLIENTS, (i, n) => `pg client ${i} turn ${n}: what is ${i}*${n}?`);
    try {
      await load.progressed(1, 120_000);
      const started = Date.now();
      await cluster.kubectl(['-n', APP_NS, 'delete', 'pod', 'chat-pg-0', '--wait=false']);
      // Typing needs no database but crosses replicas: a NOTIFY in flight when PostgreSQL goes
      // (after its 10 s grace period, in smart shutdown, existing sessions still work) and
      // those sent while it is away fail, so the bus's drops panel sees the outage (the link
      // panel sees it anyway: the NOTIFY connection's loss marks the link down). Every 300 ms,
      // the least gap between a session's typing events the server passes on.
      const typing = setInterval(() => load.clients.forEach((c) => c.client.typing(true)), 300);
      try {
        await waitFor('PostgreSQL back', 300_000, async () => (await pods(APP_NS, 'app=chat-pg')).some((p) => p.status.containerStatuses?.[0]?.ready && p.metadata.creationTimestamp && Date.parse(p.metadata.creationTimestamp) >= started - 1000), 1000);
      } finally {
        clearInterval(typing);
      }
      await sql!.end();
      sql = await clusterSql(cluster);
      await load.progressed(1, 300_000);
      figures.postgresRestartRecoverySeconds = Math.round((Date.now() - started) / 1000);
    } finally {
      await load.stop();
    }
    await settle(load.clients.map((c) => c.client));
    expect(await quiescent(load, sql!)).toEqual([]);
    const restartsAfter = (await pods(APP_NS, SERVER_PODS)).map((p) => p.status.containerStatuses?.[0]?.restartCount ?? 0);
    expect(restartsAfter).toEqual(restartsBefore);
    for (const c of load.clients) c.client.close();
  }, 900_000);

  it('after the load, every panel query of the chart\'s Grafana dashboard returns data', async () => {
    // One refused WebSocket authentication through the edge, as browsers with stale tokens make.
    const ws = new WebSocket(`${edge!.url.replace(/^https/, 'wss')}/ws/conversations/${await edge!.createConversation(await token('alice'))}`, { ca: edge!.ca });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'auth', token: 'not-a-token' }));
    const closed = await new Promise<number>((r) => ws.once('close', (code) => r(code)));
    expect(closed).toBe(4401);
    const dash = JSON.parse(readFileSync(path.join(chartDir, 'dashboards/chat-backend.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$__rate_interval', '30s').replaceAll('$namespace', '.*') })));
    expect(exprs.length).toBeGreaterThan(30);
    // Over the whole run since Prometheus started (the faults included), each query has samples.
    await waitFor('every panel query to return data', 60_000, async () => {
      const empty: string[] = [];
      for (const e of exprs) if ((await prom!.queryRange(e.expr, promStarted)).length === 0) empty.push(`${e.panel}: ${e.expr}`);
      if (empty.length) throw new Error(`no data for:\n${empty.join('\n')}`);
      return true;
    }, 2000);
  }, 200_000);

  it('ChatBackendNoReadyReplicas fires while no server pod is ready (PostgreSQL scaled to 0) and resolves after', async () => {
    const firing = async (name: string) => (await prom!.alerts()).some((a) => a.labels.alertname === name && a.state === 'firing');
    expect(await firing('ChatBackendNoReadyReplicas')).toBe(false);
    const started = Date.now();
    await cluster.kubectl(['-n', APP_NS, 'scale', 'statefulset/chat-pg', '--replicas=0']);
    await waitFor('ChatBackendNoReadyReplicas firing', 240_000, () => firing('ChatBackendNoReadyReplicas'), 1000);
    figures.alertNoReadyFiredSeconds = Math.round((Date.now() - started) / 1000);
    const alert = (await prom!.alerts()).find((a) => a.labels.alertname === 'ChatBackendNoReadyReplicas')!;
    expect(alert.labels).toMatchObject({ namespace: APP_NS, chatbackend: 'chat', severity: 'critical' });
    const back = Date.now();
    await cluster.kubectl(['-n', APP_NS, 'scale', 'statefulset/chat-pg', '--replicas=1']);
    await waitFor('ChatBackendNoReadyReplicas resolved', 300_000, async () => !(await firing('ChatBackendNoReadyReplicas')), 1000);
    figures.alertNoReadyResolvedSeconds = Math.round((Date.now() - back) / 1000);
    expect((await pods(APP_NS, SERVER_PODS)).filter((p) => p.status.containerStatuses?.[0]?.ready).length).toBeGreaterThan(0);
  }, 600_000);

  it('ChatBackendOperatorDown fires while the operator is scaled to 0 and resolves after', async () => {
    const firing = async (name: string) => (await prom!.alerts()).some((a) => a.labels.alertname === name && a.state === 'firing');
    expect(await firing('ChatBackendOperatorDown')).toBe(false);
    const started = Date.now();
    await cluster.kubectl(['-n', OPERATOR_NS, 'scale', 'deployment/chat-operator-chat-backend-operator', '--replicas=0']);
    await waitFor('ChatBackendOperatorDown firing', 240_000, () => firing('ChatBackendOperatorDown'), 1000);
    figures.alertOperatorDownFiredSeconds = Math.round((Date.now() - started) / 1000);
    const back = Date.now();
    await cluster.kubectl(['-n', OPERATOR_NS, 'scale', 'deployment/chat-operator-chat-backend-operator', '--replicas=2']);
    await waitFor('ChatBackendOperatorDown resolved', 300_000, async () => !(await firing('ChatBackendOperatorDown')), 1000);
    figures.alertOperatorDownResolvedSeconds = Math.round((Date.now() - back) / 1000);
  }, 600_000);
});

/** The scrape job of the chart's ServiceMonitor: the operator metrics Service's name. */
const OPERATOR_JOB = 'chat-operator-chat-backend-operator-metrics';

const LOAD_CLIENTS = Number(process.env.CHAT_BACKEND_REAL_NODE_CLIENTS ?? 20);
const LONG = 'Please tell me a long and winding story about ships, lighthouses, storms, harbours, sailors and the sea, with many details about each of them.';

/** Every client's answers ended (none streaming) as far as the client knows. */
async function settle(clients: ChatClient[]): Promise<void> {
  const settled = (c: ChatClient) => c.state.status === 'ready' && !c.messages.some((m) => m.role === 'assistant' && m.status === 'streaming');
  try {
    await waitFor('every client settled', 120_000, async () => clients.every(settled), 200);
  } catch (err) {
    const stuck = clients.filter((c) => !settled(c)).map((c) => `${c.conversationId}: ${c.state.status}, streaming ${JSON.stringify(c.messages.filter((m) => m.status === 'streaming').map((m) => ({ seq: m.seq, run: m.runId, chars: m.content.length })))}`);
    throw new Error(`${(err as Error).message}; not settled:\n${stuck.join('\n')}`);
  }
}

/**
 * The load's problems once the server is done with it. A client stops sending as soon as the
 * load stops, but runs it queued (it sends its next turn when its answer ended or never
 * started) go on for a while; until they end, a client has not yet been told what is being
 * stored. So this waits for the rows and the clients to agree, and returns what still
 * differs at the deadline: a difference that does not heal is a failure.
 */
async function quiescent(load: Awaited<ReturnType<typeof startLoad>>, sql: postgres.Sql): Promise<string[]> {
  let problems: string[] = [];
  await waitFor('the stored rows and every client to agree', 120_000, async () => (problems = await load.verify(sql)).length === 0, 1000).catch(() => undefined);
  return problems;
}

async function ctrTag(cluster: RealCluster, from: string, to: string): Promise<void> {
  await ctr(cluster.dirs, ['images', 'tag', '--force', from, to]);
}
