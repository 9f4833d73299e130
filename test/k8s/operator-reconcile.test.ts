// The operator against a real control plane: `helm install` of the chart (CRD, RBAC), the
// operator as a child process, a real PostgreSQL for the schema Job's command, and kwok making
// Job pods complete and Deployment pods Ready, as a cluster would.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, AutoscalingV2Api, BatchV1Api, CoreV1Api, KubernetesObjectApi, loadAllYaml, NetworkingV1Api, PatchStrategy, PolicyV1Api, type KubernetesObject, type V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/server.js';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { repoRoot } from './harness/binaries.js';
import { createNamespace, statusCode, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';
import { chatBackends, events, startOperator, writeServiceAccountKubeconfig, type OperatorProcess } from './operator-helpers.js';

const plan = await planControlPlane();
const OPERATOR_NS = 'chat-operator';
const JWT = 'j'.repeat(40);

describe.skipIf(plan.skipReason !== undefined)(`Operator reconcile (${plan.provider ?? plan.skipReason})`, () => {
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();
  let ns = '';
  let removeNs: () => Promise<void> = async () => undefined;
  let operator: OperatorProcess | undefined;
  let database: TestDatabase;
  const kc = () => cluster().kubeconfig;
  const cbs = () => chatBackends(kc(), ns);
  const apps = () => kc().makeApiClient(AppsV1Api);
  const batch = () => kc().makeApiClient(BatchV1Api);
  const core = () => kc().makeApiClient(CoreV1Api);

  const secret = (name: string, data: Record<string, string>) => core().createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData: data } });
  const spec = (extra: Record<string, unknown> = {}) => ({ image: 'chat-backend:1', replicas: 2, database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...extra });
  const ready = (name: string, timeout = 60_000) =>
    waitFor(`ChatBackend ${name} Ready=True`, timeout, async () => {
      const c = await cbs().get(name);
      const r = c.status?.conditions?.find((x) => x.type === 'Ready');
      const p = c.status?.conditions?.find((x) => x.type === 'Progressing');
      // Ready stays True while a new version migrates and rolls out; done means nothing in progress.
      return r?.status === 'True' && p?.status === 'False' && c.status?.observedGeneration === c.metadata.generation && c;
    });
  /**
   * Waits until the operator has passed over the ChatBackend's current generation: the observed
   * event after which a "nothing happened" assertion holds, instead of a guessed sleep.
   */
  const observed = (name: string) =>
    waitFor(`ChatBackend ${name} observedGeneration to catch up`, 30_000, async () => {
      const c = await cbs().get(name);
      return c.status?.observedGeneration === c.metadata.generation && c;
    });
  const jobsOf = async (name: string) => (await batch().listNamespacedJob({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${name}` })).items;

  beforeAll(async () => {
    // The chart brings the CRD and RBAC; its own operator is scaled to 0 so the one under test acts alone.
    const res = await helm(['install', 'chat', chartDir, '--namespace', OPERATOR_NS, '--create-namespace', '--set', 'replicaCount=0'], cluster().kubeconfigPath);
    expect(res.code, res.stderr).toBe(0);
    // prometheus-operator's CRDs, so ServiceMonitors can be created and watched.
    const objects = KubernetesObjectApi.makeApiClient(kc());
    for (const crd of loadAllYaml(await readFile(path.join(repoRoot, 'test/k8s/fixtures/monitoring-crds.yaml'), 'utf8')) as KubernetesObject[]) {
      await objects.patch(crd, undefined, undefined, 'operator-test-setup', true, PatchStrategy.ServerSideApply);
    }
    await waitFor('the ServiceMonitor CRD to be served', 60_000, () => objects.list('monitoring.coreos.com/v1', 'ServiceMonitor').then(() => true, () => false));
    const n = await createNamespace(kc(), 'cb');
    ns = n.name;
    removeNs = n.remove;
    database = await createTestDatabase('op');
    await secret('db', { url: database.url });
    await secret('jwt', { secret: JWT });
    operator = await startOperator(cluster().kubeconfigPath, { name: 'op-a', namespace: OPERATOR_NS, watch: ns });
  }, 180_000);

  afterAll(async () => {
    await operator?.kill();
    await removeNs();
    await database?.drop();
  }, 60_000);

  it('runs the schema Job, then rolls out the Deployment and turns Ready with conditions and events', async () => {
    await cbs().create('chat', spec());
    const job = await waitFor('the schema Job', 30_000, async () => (await jobsOf('chat'))[0]);
    const ctr = job.spec!.template.spec!.containers[0]!;
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 86400 });
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ChatBackend', name: 'chat', controller: true });
    expect(ctr.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'url' });
    // The Job's exact command against a real PostgreSQL (kwok only plays the pod).
    const migrated = await runCli([...(ctr.command ?? []), ...(ctr.args ?? [])], { DATABASE_URL: database.url });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('schema ok');

    const cb = await ready('chat');
    expect(cb.status?.schema).toEqual({ appliedHash: job.metadata!.labels!['chatbackend.dev/schema-hash'], jobName: job.metadata!.name });
    expect(cb.status).toMatchObject({ replicas: 2, readyReplicas: 2, url: `http://chat.${ns}.svc:80` });
    const types = Object.fromEntries(cb.status!.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));
    expect(types).toEqual({ Ready: 'True/ReplicasReady', Progressing: 'False/RolloutComplete', Degraded: 'False/AsExpected', SchemaReady: 'True/SchemaMigrated' });
    expect(cb.status!.conditions!.every((c) => c.observedGeneration === cb.metadata.generation)).toBe(true);

    const d = await apps().readNamespacedDeployment({ name: 'chat', namespace: ns });
    const server = d.spec!.template.spec!.containers[0]!;
    expect(server.readinessProbe?.httpGet?.path).toBe('/health/full');
    expect(server.livenessProbe?.httpGet?.path).toBe('/health');
    expect(server.lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
    expect(d.spec!.template.metadata!.annotations!['chatbackend.dev/config-hash']).toMatch(/^[0-9a-f]{16}$/);
    expect(d.metadata!.managedFields?.map((f) => f.manager)).toContain('chat-backend-operator');
    await core().readNamespacedService({ name: 'chat', namespace: ns });
    await kc().makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'chat', namespace: ns });
    const ev = await events(kc(), ns, 'chat');
    expect(ev.map((e) => e.reason)).toEqual(expect.arrayContaining(['SchemaJobCreated', 'ReplicasReady']));
  }, 120_000);

  it('a new image runs a new schema Job, then rolls the Deployment', async () => {
    const before = (await cbs().get('chat')).status!.schema!.jobName;
    await cbs().patch('chat', { spec: { image: 'chat-backend:2' } });
    const job = await waitFor('a second schema Job', 30_000, async () => (await jobsOf('chat')).find((j: V1Job) => j.metadata?.name !== before));
    expect(job.spec!.template.spec!.containers[0]!.image).toBe('chat-backend:2');
    const cb = await ready('chat', 90_000);
    expect(cb.status?.schema?.jobName).toBe(job.metadata!.name);
    const d = await apps().readNamespacedDeployment({ name: 'chat', namespace: ns });
    expect(d.spec!.template.spec!.containers[0]!.image).toBe('chat-backend:2');
    expect(d.status?.updatedReplicas).toBe(2);
  }, 120_000);

  it('a failed schema Job degrades the resource and keeps the running Deployment', async () => {
    // No node matches, so the pod stays Pending and the Job hits its deadline, as on a cluster.
    await cbs().patch('chat', { spec: { image: 'chat-backend:broken', nodeSelector: { 'chatbackend.dev/none': 'true' }, schemaJob: { activeDeadlineSeconds: 2 } } });
    const degraded = await waitFor('Degraded=True', 60_000, async () => {
      const c = await cbs().condition('chat', 'Degraded');
      return c?.status === 'True' && c;
    });
    expect(degraded.reason).toBe('SchemaMigrationFailed');
    expect(degraded.message).toMatch(/DeadlineExceeded|deadline/i);
    expect(await cbs().condition('chat', 'Ready')).toMatchObject({ status: 'False', reason: 'SchemaMigrationFailed' });
    const d = await apps().readNamespacedDeployment({ name: 'chat', namespace: ns });
    expect(d.spec!.template.spec!.containers[0]!.image).toBe('chat-backend:2');
    expect(d.spec!.template.spec!.nodeSelector).toBeUndefined();
    const ev = await events(kc(), ns, 'chat');
    expect(ev.some((e) => e.type === 'Warning' && e.reason === 'SchemaMigrationFailed')).toBe(true);

    // Back to the last good spec: its schema is already applied, so it is Ready at once.
    await cbs().patch('chat', { spec: { image: 'chat-backend:2', nodeSelector: null, logLevel: null, schemaJob: { activeDeadlineSeconds: 600 } } });
    await ready('chat');
    expect(await cbs().condition('chat', 'Degraded')).toMatchObject({ status: 'False' });
  }, 120_000);

  it('creates and deletes the Ingress as it is switched on and off', async () => {
    const net = kc().makeApiClient(NetworkingV1Api);
    await cbs().patch('chat', { spec: { ingress: { enabled: true, host: 'chat.example.com', tlsSecretName: 'chat-tls' } } });
    const ing = await waitFor('the Ingress', 30_000, () => net.readNamespacedIngress({ name: 'chat', namespace: ns }));
    expect(ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(ing.spec?.tls?.[0]?.secretName).toBe('chat-tls');
    await waitFor('the https URL', 30_000, async () => (await cbs().get('chat')).status?.url === 'https://chat.example.com');
    await cbs().patch('chat', { spec: { ingress: { enabled: false } } });
    await waitFor('the Ingress to be deleted', 30_000, () => net.readNamespacedIngress({ name: 'chat', namespace: ns }).then(() => false, (err: unknown) => statusCode(err) === 404));
  }, 90_000);

  it('creates and deletes the PDB, HPA and ServiceMonitor as they are switched', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc());
    const exists = (apiVersion: string, kind: string) =>
      objects.read({ apiVersion, kind, metadata: { name: 'chat', namespace: ns } }).then(() => true, (err: unknown) => (statusCode(err) === 404 ? false : Promise.reject(err)));
    expect(await exists('policy/v1', 'PodDisruptionBudget')).toBe(true);
    const autoscaling = { enabled: true, minReplicas: 2, maxReplicas: 4, targetMemoryUtilizationPercentage: 80 };
    await cbs().patch('chat', { spec: { podDisruptionBudget: { enabled: false }, autoscaling, metrics: { serviceMonitor: { enabled: true } } } });
    await waitFor('HPA and ServiceMonitor on, PDB off', 30_000, async () =>
      (await exists('autoscaling/v2', 'HorizontalPodAutoscaler')) && (await exists('monitoring.coreos.com/v1', 'ServiceMonitor')) && !(await exists('policy/v1', 'PodDisruptionBudget')),
    );
    const hpa = await kc().makeApiClient(AutoscalingV2Api).readNamespacedHorizontalPodAutoscaler({ name: 'chat', namespace: ns });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 4, scaleTargetRef: { kind: 'Deployment', name: 'chat' } });
    expect(hpa.spec?.metrics?.map((m) => `${m.resource?.name}=${m.resource?.target.averageUtilization}`)).toEqual(['cpu=70', 'memory=80']);
    expect(hpa.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(600);
    expect(hpa.metadata?.managedFields?.find((f) => f.manager === 'chat-backend-operator')?.apiVersion).toBe('autoscaling/v2');
    await cbs().patch('chat', { spec: { podDisruptionBudget: { enabled: true }, autoscaling: { enabled: false }, metrics: { serviceMonitor: { enabled: false } } } });
    await waitFor('HPA and ServiceMonitor off, PDB on', 30_000, async () =>
      !(await exists('autoscaling/v2', 'HorizontalPodAutoscaler')) && !(await exists('monitoring.coreos.com/v1', 'ServiceMonitor')) && (await exists('policy/v1', 'PodDisruptionBudget')),
    );
    await ready('chat');
  }, 90_000);

  it('reruns a failed schema Job only when asked with the retry annotation', async () => {
    await cbs().patch('chat', { spec: { image: 'chat-backend:bad', nodeSelector: { 'chatbackend.dev/none': 'true' }, schemaJob: { activeDeadlineSeconds: 1 } } });
    await waitFor('Degraded=True', 60_000, async () => (await cbs().condition('chat', 'Degraded'))?.status === 'True');
    const failed = (await jobsOf('chat')).find((j) => j.spec?.template.spec?.containers[0]?.image === 'chat-backend:bad')!;
    // A spec change the schema does not depend on makes the operator pass over the failure again.
    await cbs().patch('chat', { spec: { logLevel: 'debug' } });
    await observed('chat');
    // Not retried by itself: the same failed Job is still the one.
    expect((await batch().readNamespacedJob({ name: failed.metadata!.name!, namespace: ns })).metadata?.uid).toBe(failed.metadata?.uid);
    // Nor after its TTL removes it: the failure is remembered in status.schema.failedHash.
    await batch().deleteNamespacedJob({ name: failed.metadata!.name!, namespace: ns, propagationPolicy: 'Background' });
    await waitFor('the failed Job to be gone', 30_000, async () => (await batch().readNamespacedJob({ name: failed.metadata!.name!, namespace: ns }).catch(() => undefined)) === undefined);
    await cbs().patch('chat', { spec: { logLevel: 'warn' } });
    await observed('chat');
    expect(await batch().readNamespacedJob({ name: failed.metadata!.name!, namespace: ns }).catch(() => undefined)).toBeUndefined();
    expect((await cbs().condition('chat', 'Degraded'))?.reason).toBe('SchemaMigrationFailed');
    await cbs().patch('chat', { metadata: { annotations: { 'chatbackend.dev/retry-schema': 'now' } } });
    await waitFor('a fresh Job of the same name', 30_000, async () => {
      const j = await batch().readNamespacedJob({ name: failed.metadata!.name!, namespace: ns }).catch(() => undefined);
      return j !== undefined && j.metadata?.uid !== failed.metadata?.uid;
    });
    await waitFor('the retry annotation to be cleared', 10_000, async () => (await cbs().get('chat')).metadata && !('chatbackend.dev/retry-schema' in (((await cbs().get('chat')) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {})));
    expect((await events(kc(), ns, 'chat')).some((e) => e.reason === 'SchemaMigrationRetry')).toBe(true);
    await cbs().patch('chat', { spec: { image: 'chat-backend:2', nodeSelector: null, logLevel: null, schemaJob: { activeDeadlineSeconds: 600 } } });
    await ready('chat');
  }, 120_000);

  it('reports a config the server would reject as InvalidConfig', async () => {
    await cbs().patch('chat', { spec: { auth: { allowedOrigins: ['https://app.example.com/path'] } } });
    const c = await waitFor('InvalidConfig', 30_000, async () => {
      const r = await cbs().condition('chat', 'Ready');
      return r?.reason === 'InvalidConfig' && r;
    });
    expect(c.message).toContain('ALLOWED_ORIGINS');
    await cbs().patch('chat', { spec: { auth: { allowedOrigins: ['https://app.example.com'] } } });
    await ready('chat');
  }, 90_000);

  it('pauses on the annotation and resumes when it is removed', async () => {
    await cbs().patch('chat', { metadata: { annotations: { 'chatbackend.dev/paused': 'true' } } });
    await waitFor('the Paused condition', 30_000, async () => (await cbs().condition('chat', 'Progressing'))?.reason === 'ReconcilePaused');
    await cbs().patch('chat', { spec: { replicas: 3 } });
    await observed('chat'); // a pass has seen replicas: 3, and left the Deployment alone
    expect((await apps().readNamespacedDeployment({ name: 'chat', namespace: ns })).spec?.replicas).toBe(2);
    await cbs().patch('chat', { metadata: { annotations: { 'chatbackend.dev/paused': null } } });
    await waitFor('3 replicas', 30_000, async () => (await apps().readNamespacedDeployment({ name: 'chat', namespace: ns })).spec?.replicas === 3);
    await ready('chat');
  }, 90_000);

  it('reports a missing Secret by name and recovers by itself when it appears', async () => {
    await cbs().create('other', spec({ database: { secretRef: { name: 'db-other' } } }));
    const r = await waitFor('SecretNotFound', 30_000, async () => {
      const c = await cbs().condition('other', 'Ready');
      return c?.reason === 'SecretNotFound' && c;
    });
    expect(r.message).toContain('db-other');
    expect(operator!.child.exitCode).toBeNull();
    await secret('db-other', { url: database.url });
    await ready('other', 60_000);
  }, 90_000);

  it('survives a kill mid-reconcile: same end state, no duplicate children', async () => {
    await cbs().create('third', spec());
    await waitFor('the schema Job of third', 30_000, async () => (await jobsOf('third'))[0]);
    await operator!.kill('SIGKILL');
    operator = await startOperator(cluster().kubeconfigPath, { name: 'op-a', namespace: OPERATOR_NS, watch: ns });
    await ready('third', 60_000);
    expect(await jobsOf('third')).toHaveLength(1);
    const ds = await apps().listNamespacedDeployment({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=third' });
    expect(ds.items).toHaveLength(1);
  }, 120_000);

  it('deleting the ChatBackend garbage-collects its children', async () => {
    await cbs().delete('third');
    await waitFor('the Deployment of third to be collected', 60_000, () =>
      apps().readNamespacedDeployment({ name: 'third', namespace: ns }).then(() => false, (err: unknown) => statusCode(err) === 404),
    );
    await waitFor('the Service of third to be collected', 30_000, () => core().readNamespacedService({ name: 'third', namespace: ns }).then(() => false, (err: unknown) => statusCode(err) === 404));
    expect(await jobsOf('third')).toHaveLength(0);
  }, 90_000);

  it("starts under the chart's namespaced RBAC (watchNamespaces) where the ServiceMonitor CRD exists, and creates ServiceMonitors", async () => {
    // A second release: Roles in one watched namespace only, no ClusterRole, the CRD left to the first.
    const scoped = await createNamespace(kc(), 'scoped');
    const release = 'scoped';
    const releaseNs = `${OPERATOR_NS}-scoped`;
    const dir = await mkdtemp(path.join(tmpdir(), 'chat-operator-scoped-'));
    let op: OperatorProcess | undefined;
    try {
      const res = await helm(['install', release, chartDir, '--namespace', releaseNs, '--create-namespace', '--set', 'replicaCount=0', '--set', 'crds.create=false', '--set', `operator.watchNamespaces={${scoped.name}}`], cluster().kubeconfigPath);
      expect(res.code, res.stderr).toBe(0);
      const file = path.join(dir, 'kubeconfig');
      await writeServiceAccountKubeconfig(kc(), { namespace: releaseNs, serviceAccount: `${release}-chat-backend-operator`, file });
      const c = core();
      await c.createNamespacedSecret({ namespace: scoped.name, body: { metadata: { name: 'db' }, stringData: { url: database.url } } });
      await c.createNamespacedSecret({ namespace: scoped.name, body: { metadata: { name: 'jwt' }, stringData: { secret: JWT } } });
      op = await startOperator(file, { name: 'op-scoped', namespace: releaseNs, watch: scoped.name });
      const alive = () => {
        if (op!.child.exitCode !== null) throw new Error(`the operator exited ${op!.child.exitCode}: ${op!.output().slice(-2000)}`);
      };
      // Leading and ready: the controller started, so start-up's question whether ServiceMonitors are served got an answer.
      await waitFor('the scoped operator to lead with its informers running', 60_000, async () => {
        alive();
        const metrics = await (await fetch(`http://127.0.0.1:${op!.metricsPort}/metrics`)).text();
        return /^chatbackend_operator_leader 1$/m.test(metrics) && (await fetch(`http://127.0.0.1:${op!.healthPort}/readyz`)).ok;
      });
      await chatBackends(kc(), scoped.name).create('chat', spec({ replicas: 1, metrics: { serviceMonitor: { enabled: true } } }));
      const objects = KubernetesObjectApi.makeApiClient(kc());
      await waitFor('the ServiceMonitor in the watched namespace', 60_000, () => {
        alive();
        return objects.read({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'chat', namespace: scoped.name } }).then(() => true, (err: unknown) => (statusCode(err) === 404 ? false : Promise.reject(err)));
      });
      expect(op.child.exitCode).toBeNull();
      expect(op.output()).not.toMatch(/servicemonitors.monitoring.coreos.com is forbidden/);
    } finally {
      await op?.kill();
      await helm(['uninstall', release, '--namespace', releaseNs], cluster().kubeconfigPath);
      await scoped.remove();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
