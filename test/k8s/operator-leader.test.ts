// Two real operator processes share one Lease: one leads and reconciles, the other waits; when
// the leader is killed (SIGKILL, no chance to release), the other takes over within the lease
// duration and reconciles. Also /healthz, /readyz and the operator's /metrics.
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { createNamespace, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';
import { chatBackends, startOperator, type OperatorProcess } from './operator-helpers.js';

const plan = await planControlPlane();
const OPERATOR_NS = 'chat-operator';
const LEASE_S = 6;

const scrape = async (op: OperatorProcess) => (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
const leaderGauge = async (op: OperatorProcess) => Number(/^chatbackend_operator_leader (\S+)$/m.exec(await scrape(op))?.[1]);

describe.skipIf(plan.skipReason !== undefined)(`Operator leader election (${plan.provider ?? plan.skipReason})`, () => {
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();
  let ns = '';
  const ops: OperatorProcess[] = [];
  const kc = () => cluster().kubeconfig;
  const holder = async () => (await kc().makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'chat-backend-operator', namespace: OPERATOR_NS })).spec?.holderIdentity;
  const spec = { image: 'chat-backend:1', replicas: 1, database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } } };
  const ready = (name: string) =>
    waitFor(`ChatBackend ${name} Ready`, 60_000, async () => (await chatBackends(kc(), ns).condition(name, 'Ready'))?.status === 'True');

  beforeAll(async () => {
    const res = await helm(['install', 'chat', chartDir, '--namespace', OPERATOR_NS, '--create-namespace', '--set', 'replicaCount=0'], cluster().kubeconfigPath);
    expect(res.code, res.stderr).toBe(0);
    ns = (await createNamespace(kc(), 'lead')).name;
    const core = kc().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { url: 'postgres://u:p@db:5432/chat' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'jwt' }, stringData: { secret: 's'.repeat(40) } } });
    // A short silence limit: quiet informers get restarted (and relist) during the test.
    for (const name of ['op-a', 'op-b']) ops.push(await startOperator(cluster().kubeconfigPath, { name, namespace: OPERATOR_NS, watch: ns, leaseDurationS: LEASE_S, informerSilenceS: 2 }));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(ops.map((o) => o.kill()));
  }, 60_000);

  it('elects exactly one leader, which reconciles; both are healthy and ready', async () => {
    const leaderName = await waitFor('a Lease holder', 30_000, holder);
    await waitFor('the leader gauge', 10_000, async () => (await Promise.all(ops.map(leaderGauge))).reduce((a, b) => a + b, 0) === 1);
    const leader = ops.find((o) => o.name === leaderName)!;
    expect(await leaderGauge(leader)).toBe(1);
    for (const op of ops) {
      expect((await fetch(`http://127.0.0.1:${op.healthPort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${op.healthPort}/readyz`)).status).toBe(200);
    }
    await chatBackends(kc(), ns).create('first', spec);
    await ready('first');
    const text = await scrape(leader);
    for (const name of ['chatbackend_reconcile_total', 'chatbackend_reconcile_duration_seconds', 'chatbackend_reconcile_errors_total', 'workqueue_depth', 'workqueue_retries_total']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/^chatbackend_reconcile_total\{result="success"\} [1-9]/m);
    // The HPA informer sees no event in this test: it is restarted for silence, and still works.
    await waitFor('a silence restart', 15_000, async () => /^chatbackend_informer_restarts_total\{kind="HorizontalPodAutoscaler",reason="silence"\} [1-9]/m.test(await scrape(leader)));
    const standby = ops.find((o) => o !== leader)!;
    expect(await scrape(standby)).not.toMatch(/^chatbackend_reconcile_total\{/m);
  }, 90_000);

  it('hands over within the lease duration when the leader is killed', async () => {
    const leaderName = await holder();
    const leader = ops.find((o) => o.name === leaderName)!;
    const other = ops.find((o) => o !== leader)!;
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    // The Lease expires LEASE_S after the last renewal; the standby's next attempt (every 1 s)
    // then takes it. The margin covers a loaded CI machine.
    await waitFor('the other replica to take the Lease', (LEASE_S + 10) * 1000, async () => (await holder()) === other.name);
    expect(Date.now() - killedAt).toBeLessThan((LEASE_S + 10) * 1000);
    expect(await leaderGauge(other)).toBe(1);
    await chatBackends(kc(), ns).create('second', spec);
    await ready('second');
  }, 90_000);

  it('releases the Lease on SIGTERM so a standby takes over at once', async () => {
    const leader = ops.find((o) => o.child.exitCode === null && o.child.signalCode === null)!;
    expect(await holder()).toBe(leader.name);
    const standby = await startOperator(cluster().kubeconfigPath, { name: 'op-c', namespace: OPERATOR_NS, watch: ns, leaseDurationS: LEASE_S });
    ops.push(standby);
    const stoppedAt = Date.now();
    await leader.kill('SIGTERM');
    expect(leader.child.exitCode).toBe(0);
    await waitFor('op-c to take the released Lease', LEASE_S * 1000, async () => (await holder()) === 'op-c');
    // Well before the Lease would have expired on its own.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_S * 1000);
  }, 60_000);
});
