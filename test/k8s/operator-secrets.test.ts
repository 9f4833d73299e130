// The operator and the Secrets a ChatBackend references, on a real control plane: a new value
// rolls the server pods through the pod template's secret digest, promptly because Secrets are
// watched; a new database URL migrates first; an unrelated Secret does not even queue a pass.
import { AppsV1Api, BatchV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { createNamespace, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';
import { chatBackends, startOperator, type ChatBackendObject, type OperatorProcess } from './operator-helpers.js';

const plan = await planControlPlane();
const OPERATOR_NS = 'chat-operator';
const SECRET_HASH = 'chatbackend.dev/secret-hash';
const CONFIG_HASH = 'chatbackend.dev/config-hash';
const SCHEMA_HASH = 'chatbackend.dev/schema-hash';
// Well past a watch event's delivery, far below the 5-minute resync: a change seen within it came from the watch.
const PROMPTLY_MS = 20_000;

describe.skipIf(plan.skipReason !== undefined)(`Operator and referenced Secrets (${plan.provider ?? plan.skipReason})`, () => {
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();
  let ns = '';
  let removeNs: () => Promise<void> = async () => undefined;
  let operator: OperatorProcess | undefined;
  const kc = () => cluster().kubeconfig;
  const cbs = () => chatBackends(kc(), ns);
  const apps = () => kc().makeApiClient(AppsV1Api);
  const core = () => kc().makeApiClient(CoreV1Api);

  /** Creates or overwrites a Secret (an update without resourceVersion is unconditional). */
  const putSecret = async (name: string, data: Record<string, string>) => {
    const body = { metadata: { name }, stringData: data };
    const exists = await core().readNamespacedSecret({ name, namespace: ns }).then(() => true, () => false);
    if (exists) await core().replaceNamespacedSecret({ name, namespace: ns, body });
    else await core().createNamespacedSecret({ namespace: ns, body });
  };
  const deployment = () => apps().readNamespacedDeployment({ name: 'chat', namespace: ns });
  const annotation = (d: V1Deployment, key: string) => d.spec?.template.metadata?.annotations?.[key];
  const replicaSets = async () => (await apps().listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=chat' })).items;
  const jobs = async () => (await kc().makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=chat' })).items;
  /** A Secret change leaves the generation alone, so `also` says which pass the status must be from. */
  const ready = (also: (c: ChatBackendObject) => boolean = () => true) =>
    waitFor('ChatBackend chat Ready with its rollout complete', 90_000, async () => {
      const c = await cbs().get('chat');
      const r = c.status?.conditions?.find((x) => x.type === 'Ready');
      const p = c.status?.conditions?.find((x) => x.type === 'Progressing');
      return r?.status === 'True' && p?.status === 'False' && c.status?.observedGeneration === c.metadata.generation && also(c) && c;
    });
  /** The ReplicaSet of this secret digest once all its pods are ready and the old ones are scaled away. */
  const rolledOutTo = (digest: string) =>
    waitFor(`the ReplicaSet with ${SECRET_HASH}=${digest} to own every ready pod`, 90_000, async () => {
      const sets = await replicaSets();
      const current = sets.find((rs) => rs.spec?.template?.metadata?.annotations?.[SECRET_HASH] === digest);
      const others = sets.filter((rs) => rs !== current);
      return current?.status?.readyReplicas === 2 && others.every((rs) => (rs.spec?.replicas ?? 0) === 0) && current;
    });
  const reconcileCount = async () => {
    const text = await (await fetch(`http://127.0.0.1:${operator!.metricsPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('chatbackend_reconcile_total{'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  };
  /** The reconcile count once it has not moved for two seconds (status writes and Deployment updates settled). */
  const quietCount = () =>
    waitFor('the operator to go quiet', 30_000, async () => {
      const before = await reconcileCount();
      await new Promise((r) => setTimeout(r, 2000));
      return (await reconcileCount()) === before && { count: before };
    }, 0);

  beforeAll(async () => {
    // The chart brings the CRD and RBAC; its own operator is scaled to 0 so the one under test acts alone.
    const res = await helm(['install', 'chat', chartDir, '--namespace', OPERATOR_NS, '--create-namespace', '--set', 'replicaCount=0'], cluster().kubeconfigPath);
    expect(res.code, res.stderr).toBe(0);
    const n = await createNamespace(kc(), 'cbsec');
    ns = n.name;
    removeNs = n.remove;
    // kwok completes the schema Job's pod, so no database needs to listen at this URL.
    await putSecret('db', { url: 'postgres://chat:first@db.example:5432/chat' });
    await putSecret('jwt', { secret: 'a'.repeat(40) });
    operator = await startOperator(cluster().kubeconfigPath, { name: 'op-secrets', namespace: OPERATOR_NS, watch: ns });
    await cbs().create('chat', { image: 'chat-backend:1', replicas: 2, database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } } });
    await ready();
  }, 180_000);

  afterAll(async () => {
    await operator?.kill();
    await removeNs();
  }, 60_000);

  it('a new JWT secret value rolls the pods promptly, without a schema Job', async () => {
    const before = await deployment();
    const digest = annotation(before, SECRET_HASH);
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    const setsBefore = (await replicaSets()).map((rs) => rs.metadata?.name);
    expect(setsBefore).toHaveLength(1);
    const jobsBefore = (await jobs()).map((j) => j.metadata?.name);

    await putSecret('jwt', { secret: 'b'.repeat(40) });
    const changed = await waitFor('a new secret digest in the pod template', PROMPTLY_MS, async () => {
      const d = await deployment();
      return annotation(d, SECRET_HASH) !== digest && d;
    });
    const next = annotation(changed, SECRET_HASH)!;
    expect(next).toMatch(/^[0-9a-f]{16}$/);
    // Only the digest moved: same config, same schema, and the value itself is nowhere in the template.
    expect(annotation(changed, CONFIG_HASH)).toBe(annotation(before, CONFIG_HASH));
    expect(annotation(changed, SCHEMA_HASH)).toBe(annotation(before, SCHEMA_HASH));
    expect(JSON.stringify(changed.spec?.template)).not.toContain('b'.repeat(40));
    expect(JSON.stringify(changed.spec?.template)).not.toContain(Buffer.from('b'.repeat(40)).toString('base64'));

    const rs = await rolledOutTo(next);
    expect(setsBefore).not.toContain(rs.metadata?.name);
    await ready();
    expect((await jobs()).map((j) => j.metadata?.name)).toEqual(jobsBefore);
  }, 120_000);

  it('a Secret no ChatBackend references rolls nothing and queues no pass', async () => {
    const { count } = await quietCount();
    const before = await deployment();
    const sets = (await replicaSets()).map((rs) => rs.metadata?.name).sort();

    await putSecret('unrelated', { secret: 'one' });
    await putSecret('unrelated', { secret: 'two' });
    // A barrier on the same watch: a label on the referenced Secret queues exactly one pass (no
    // value changed, so nothing rolls). Secret events reach the operator in order, so once that
    // pass is counted, any pass the unrelated Secret had queued would have been counted too.
    const db = await core().readNamespacedSecret({ name: 'db', namespace: ns });
    await core().replaceNamespacedSecret({ name: 'db', namespace: ns, body: { ...db, metadata: { ...db.metadata, labels: { ...db.metadata?.labels, barrier: String(Date.now()) } } } });
    await waitFor('the pass queued by the barrier', 30_000, async () => (await reconcileCount()) > count);

    expect(await reconcileCount(), 'the unrelated Secret queued passes of its own').toBe(count + 1);
    const after = await deployment();
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(annotation(after, SECRET_HASH)).toBe(annotation(before, SECRET_HASH));
    expect((await replicaSets()).map((rs) => rs.metadata?.name).sort()).toEqual(sets);
  }, 60_000);

  it('a new database URL value migrates first, then rolls the pods', async () => {
    const before = await deployment();
    const jobsBefore = (await jobs()).map((j) => j.metadata?.name);
    const schemaBefore = (await cbs().get('chat')).status?.schema?.jobName;

    await putSecret('db', { url: 'postgres://chat:second@db.example:5432/chat' });
    const job = await waitFor('a schema Job for the new database URL', PROMPTLY_MS, async () => (await jobs()).find((j) => !jobsBefore.includes(j.metadata?.name)));
    expect(job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'url' });

    const cb = await ready((c) => c.status?.schema?.jobName === job.metadata?.name);
    expect(cb.status?.schema?.jobName).not.toBe(schemaBefore);
    expect(cb.status?.schema?.appliedHash).toBe(job.metadata?.labels?.[SCHEMA_HASH]);
    const after = await deployment();
    expect(annotation(after, SECRET_HASH)).not.toBe(annotation(before, SECRET_HASH));
    expect(annotation(after, SCHEMA_HASH)).toBe(job.metadata?.labels?.[SCHEMA_HASH]);
    await rolledOutTo(annotation(after, SECRET_HASH)!);
  }, 120_000);

  it('a deleted referenced Secret is reported at once, and its return recovers', async () => {
    const before = await deployment();
    await core().deleteNamespacedSecret({ name: 'jwt', namespace: ns });
    const r = await waitFor('SecretNotFound', PROMPTLY_MS, async () => {
      const c = await cbs().condition('chat', 'Ready');
      return c?.reason === 'SecretNotFound' && c;
    });
    expect(r.message).toContain('Secret jwt referenced by spec.auth.jwtSecretRef');
    await putSecret('jwt', { secret: 'b'.repeat(40) });
    await ready();
    // The same value as before the deletion, and the Deployment was left alone meanwhile: nothing rolled.
    const after = await deployment();
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(annotation(after, SECRET_HASH)).toBe(annotation(before, SECRET_HASH));
  }, 120_000);
});
