// An informer whose watch fails is restarted until it works again, and then catches up on what
// changed meanwhile. The failure is real: the operator runs under the chart's own ServiceAccount
// and RBAC, its ClusterRole loses list and watch on Deployments, and its connections to the API
// server are cut. The cut is needed because authorization is checked when a request starts: an
// open watch outlives the revocation, and only the reconnect is refused, as it would be after an
// API server restart or the server's own watch timeout (--min-request-timeout, 30 to 60 min).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { createNamespace, statusCode, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { chatBackends, startOperator, writeServiceAccountKubeconfig, type OperatorProcess } from './operator-helpers.js';

const plan = await planControlPlane();
const OPERATOR_NS = 'chat-operator';
const FULLNAME = 'chat-chat-backend-operator'; // ServiceAccount and ClusterRole of release "chat"
// The informer backs off up to 30 s between attempts; this covers that and a loaded machine.
const RECOVERY_MS = 120_000;
// A pass takes well under a second; this long without one (and with an empty queue) means the
// operator has caught up. A pass still in flight or retrying could otherwise undo the deletion
// below before the informer under test has seen it.
const QUIET_MS = 5_000;

type LogLine = { msg?: string; kind?: string; status?: number };

/** The operator's JSON log lines (the tail it keeps may begin mid-line; that one is skipped). */
function logLines(op: OperatorProcess): LogLine[] {
  return op
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return []; // a line cut by the tail or still being written
      }
    });
}

const forbiddenDeploymentWatches = (op: OperatorProcess) =>
  logLines(op).filter((l) => l.msg === 'informer error; restarting' && l.kind === 'Deployment' && l.status === 403).length;

describe.skipIf(plan.skipReason !== undefined)(`Operator informer recovery (${plan.provider ?? plan.skipReason})`, () => {
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();
  const kc = () => cluster().kubeconfig;
  const rbac = () => kc().makeApiClient(RbacAuthorizationV1Api);
  const apps = () => kc().makeApiClient(AppsV1Api);
  let ns = '';
  let dir = '';
  let proxy: TcpProxy | undefined;
  let op: OperatorProcess | undefined;
  let originalRules: V1PolicyRule[] | undefined;

  const setRules = async (rules: V1PolicyRule[]) => {
    const role = await rbac().readClusterRole({ name: FULLNAME });
    await rbac().replaceClusterRole({ name: FULLNAME, body: { ...role, rules } });
  };
  /** What the API server's authorizer now answers for the operator, so the test never races RBAC propagation. */
  const mayWatchDeployments = async () =>
    (
      await kc().makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${OPERATOR_NS}:${FULLNAME}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${OPERATOR_NS}`, 'system:authenticated'],
            resourceAttributes: { verb: 'watch', group: 'apps', resource: 'deployments', namespace: ns },
          },
        },
      })
    ).status?.allowed === true;
  const scrape = async () => (await fetch(`http://127.0.0.1:${op!.metricsPort}/metrics`)).text();
  const errorRestarts = async (kind: string) =>
    Number(new RegExp(`^chatbackend_informer_restarts_total\\{kind="${kind}",reason="error"\\} (\\S+)$`, 'm').exec(await scrape())?.[1] ?? 0);
  const quiet = async () => {
    let last = '';
    let since = Date.now();
    await waitFor('the operator to be idle', 120_000, async () => {
      const text = await scrape();
      const work = [...text.matchAll(/^(?:chatbackend_reconcile_total|workqueue_depth|workqueue_retries_total)\b.*$/gm)].map((m) => m[0]).join('\n');
      if (work !== last) [last, since] = [work, Date.now()];
      return Date.now() - since >= QUIET_MS;
    }, 500);
  };
  const deploymentExists = () =>
    apps()
      .readNamespacedDeployment({ name: 'chat', namespace: ns })
      .then(
        () => true,
        (err: unknown) => {
          if (statusCode(err) === 404) return false;
          throw err;
        },
      );
  const settled = () =>
    waitFor('ChatBackend chat Ready with its rollout complete', 90_000, async () => {
      const c = await chatBackends(kc(), ns).get('chat');
      const cond = (type: string) => c.status?.conditions?.find((x) => x.type === type)?.status;
      return cond('Ready') === 'True' && cond('Progressing') === 'False' && c.status?.observedGeneration === c.metadata.generation;
    });

  beforeAll(async () => {
    const res = await helm(['install', 'chat', chartDir, '--namespace', OPERATOR_NS, '--create-namespace', '--set', 'replicaCount=0'], cluster().kubeconfigPath);
    expect(res.code, res.stderr).toBe(0);
    ns = (await createNamespace(kc(), 'informer')).name;
    const core = kc().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { url: 'postgres://u:p@db:5432/chat' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'jwt' }, stringData: { secret: 's'.repeat(40) } } });
    const api = new URL(kc().getCurrentCluster()!.server);
    proxy = await startTcpProxy(api.hostname.replace(/^\[|\]$/g, ''), Number(api.port || 443));
    dir = await mkdtemp(path.join(tmpdir(), 'chat-operator-sa-'));
    const file = path.join(dir, 'kubeconfig');
    await writeServiceAccountKubeconfig(kc(), { namespace: OPERATOR_NS, serviceAccount: FULLNAME, file, server: `127.0.0.1:${proxy.port}` });
    // The default silence limit (10 min) keeps the silence restart out of this test: only the
    // restart on error can bring the Deployment informer back.
    op = await startOperator(file, { name: 'op-sa', namespace: OPERATOR_NS, watch: ns, leaseDurationS: 15 });
  }, 180_000);

  afterAll(async () => {
    await op?.kill();
    // On a real cluster the ClusterRole outlives the test; give it back what it had.
    if (originalRules) await setRules(originalRules);
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("reconciles a ChatBackend to Ready under the chart's own ServiceAccount", async () => {
    // No PDB: its status follows the pods, so its watch would see the deletion below and queue
    // a pass, and the Deployment informer would not be the only one that could bring it back.
    await chatBackends(kc(), ns).create('chat', {
      image: 'chat-backend:1',
      replicas: 1,
      podDisruptionBudget: { enabled: false },
      database: { secretRef: { name: 'db' } },
      auth: { jwtSecretRef: { name: 'jwt' } },
    });
    await settled();
    expect(await deploymentExists()).toBe(true);
    expect(forbiddenDeploymentWatches(op!)).toBe(0);
  }, 120_000);

  it('restarts the Deployment informer while its watch is forbidden, and re-creates a Deployment deleted meanwhile once it is allowed', async () => {
    const role = await rbac().readClusterRole({ name: FULLNAME });
    originalRules = structuredClone(role.rules ?? []);
    const revoked = originalRules.map((r) =>
      r.apiGroups?.includes('apps') && r.resources?.includes('deployments') ? { ...r, verbs: r.verbs.filter((v) => v !== 'list' && v !== 'watch') } : r,
    );
    await quiet();
    await setRules(revoked);
    await waitFor('the operator to lose watch on Deployments', 30_000, async () => !(await mayWatchDeployments()));

    // Every watch drops; each informer reconnects, and the Deployment one is refused.
    expect(proxy!.cut()).toBeGreaterThan(0);
    proxy!.resume(); // in the same tick: reconnects reach the API server (and its RBAC) at once
    await waitFor('a forbidden Deployment watch logged as an informer error', RECOVERY_MS, async () => forbiddenDeploymentWatches(op!) > 0);
    await waitFor('chatbackend_informer_restarts_total{kind="Deployment",reason="error"}', RECOVERY_MS, async () => (await errorRestarts('Deployment')) > 0);

    // The operator is blind to Deployments now: a deletion goes unnoticed, even after its next
    // (forbidden) attempt. Its other informers are back and it is idle, and none of the objects
    // they watch follows the Deployment's pods, so nothing else queues a pass here.
    await quiet();
    await apps().deleteNamespacedDeployment({ name: 'chat', namespace: ns });
    await waitFor('the Deployment to be gone', 60_000, async () => !(await deploymentExists()));
    const refusedBefore = forbiddenDeploymentWatches(op!);
    await waitFor('another forbidden attempt after the deletion', RECOVERY_MS, async () => forbiddenDeploymentWatches(op!) > refusedBefore);
    expect(await deploymentExists()).toBe(false);

    await setRules(originalRules);
    originalRules = undefined;
    await waitFor('the operator to be allowed to watch Deployments again', 30_000, mayWatchDeployments);
    // Only a restarted informer sees the deletion (the resync is 5 minutes away) and queues the
    // ChatBackend, whose pass creates the Deployment again.
    await waitFor('the deleted Deployment to be re-created', RECOVERY_MS, deploymentExists);
    await settled();
  }, 6 * 60_000);
});
