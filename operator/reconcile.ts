// One level-based, idempotent pass over a ChatBackend (DESIGN.md section 7): secrets read and
// config checked, schema Job first, then the Deployment and the other children by server-side apply,
// then the whole status in one patch and one event per condition transition.
import { mergePatch } from './merge-patch.js';
import type { KubernetesObject, V1Deployment, V1Job, V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../src/log.js';
import { ChatBackendSchema, type ChatBackend, type ChatBackendStatus } from './api.js';
import { ANNOTATION_PAUSED, ANNOTATION_RETRY_SCHEMA, serverName } from './builders/common.js';
import { renderConfig } from './builders/config.js';
import { buildDeployment } from './builders/deployment.js';
import { OPTIONAL_KINDS } from './builders/optional.js';
import { buildSchemaJob, schemaHash, schemaJobName } from './builders/schema-job.js';
import { secretDigests, secretUses, type SecretDigests, type SecretValue } from './builders/secrets.js';
import { buildService, serviceUrl } from './builders/service.js';
import { Conditions, type ConditionUpdate } from './conditions.js';
import { errorMessage, statusCode } from './kube.js';
import type { KubeApi } from './kube-api.js';
import type { Outcome } from './queue.js';
import { EventReason, Reason } from './reasons.js';

export const COMPONENT = 'chat-backend-operator';

interface Pass {
  kube: KubeApi;
  cb: ChatBackend;
  conditions: Conditions;
  status: ChatBackendStatus;
}

/** What a pass saw, for the operator's per-resource gauges. */
export interface Observed {
  gone: boolean;
  readyReplicas: number;
  desiredReplicas: number;
  schemaFailed: boolean;
}

export async function reconcile(kube: KubeApi, namespace: string, name: string, log: Logger, observe?: (o: Observed) => void): Promise<Outcome> {
  const raw = (await kube.getChatBackend(namespace, name)) as (KubernetesObject & { status?: ChatBackendStatus }) | undefined;
  if (raw === undefined) {
    observe?.({ gone: true, readyReplicas: 0, desiredReplicas: 0, schemaFailed: false });
    return {}; // deleted: owner references let the garbage collector remove the children
  }
  const generation = raw.metadata?.generation;
  const conditions = new Conditions(raw.status?.conditions, generation, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
  const status: ChatBackendStatus = { ...raw.status };
  const parsed = ChatBackendSchema.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    notReady(conditions, Reason.InvalidSpec, message);
    await finish(kube, raw, status, conditions, raw.status, generation);
    return {};
  }
  const cb = parsed.data;
  const pass: Pass = { kube, cb, conditions, status };
  let outcome: Outcome;
  try {
    outcome = await decide(pass, log);
  } catch (err) {
    // A conflict is the next pass's to resolve; any other refusal stays visible in status until
    // an apply succeeds, while the queue retries with backoff.
    if (!(err instanceof ApplyFailure)) throw err;
    if (statusCode(err.cause) !== 409) {
      const message = `${err.child} was not applied: ${errorMessage(err.cause)}`;
      notReady(conditions, Reason.ApplyFailed, message);
      conditions.set({ type: 'Degraded', status: 'True', reason: Reason.ApplyFailed, message });
      status.url = serviceUrl(cb);
      await finish(kube, raw, status, conditions, raw.status, generation);
    }
    throw err.cause;
  }
  status.url = serviceUrl(cb);
  await finish(kube, raw, status, conditions, raw.status, generation);
  observe?.({
    gone: false,
    readyReplicas: status.readyReplicas ?? 0,
    desiredReplicas: cb.spec.autoscaling.enabled ? cb.spec.autoscaling.minReplicas : cb.spec.replicas,
    schemaFailed: conditions.get('SchemaReady')?.reason === Reason.SchemaMigrationFailed,
  });
  return outcome;
}

async function decide(p: Pass, log: Logger): Promise<Outcome> {
  const { kube, cb, conditions } = p;
  const annotations = (cb.metadata.annotations ?? {}) as Record<string, string>;
  if (annotations[ANNOTATION_PAUSED] === 'true') {
    conditions.set({ type: 'Progressing', status: 'False', reason: Reason.ReconcilePaused, message: `reconciling is paused by the ${ANNOTATION_PAUSED} annotation; children are left as they are` });
    await observeDeployment(p);
    return {};
  }

  const secrets = await readSecrets(kube, cb);
  if ('reason' in secrets) {
    notReady(conditions, secrets.reason, secrets.message);
    conditions.set({ type: 'Degraded', status: 'True', reason: secrets.reason, message: secrets.message });
    await observeDeployment(p);
    return {}; // the Secret watch queues this resource again when the Secret appears or changes
  }
  const digests = secretDigests(cb, secrets);

  const config = renderConfig(cb);
  if (!config.ok) {
    const message = `the server would reject its configuration: ${config.errors.join('; ')}`;
    notReady(conditions, Reason.InvalidConfig, message);
    conditions.set({ type: 'Degraded', status: 'True', reason: Reason.InvalidConfig, message });
    await observeDeployment(p);
    return {};
  }

  const hash = schemaHash(cb, digests);
  if (p.status.schema?.appliedHash !== hash) {
    const done = await schemaStep(p, digests, annotations[ANNOTATION_RETRY_SCHEMA] !== undefined, log);
    if (!done.ready) {
      await observeDeployment(p);
      return done.outcome;
    }
  }
  conditions.set({ type: 'SchemaReady', status: 'True', reason: Reason.SchemaMigrated, message: `schema migrated by Job ${p.status.schema?.jobName ?? schemaJobName(cb, digests)}` });

  await applyChild(kube, buildService(cb));
  const deployment = await applyChild(kube, buildDeployment(cb, config.config, digests));
  for (const child of OPTIONAL_KINDS) {
    const desired = (child.build as (c: ChatBackend) => KubernetesObject | undefined)(cb);
    if (desired !== undefined) await applyChild(kube, desired);
    else if (child.kind !== 'ServiceMonitor' || (await kube.serves(child.apiVersion, child.kind))) {
      if (await kube.delete({ apiVersion: child.apiVersion, kind: child.kind, namespace: cb.metadata.namespace, name: serverName(cb) })) log.info({ kind: child.kind, name: cb.metadata.name }, 'deleted switched-off child');
    }
  }
  conditions.set({ type: 'Degraded', status: 'False', reason: Reason.AsExpected, message: 'no problem found' });
  rolloutConditions(p, deployment);
  return {};
}

/** A child the API server refused to apply; `cause` is the refusal. */
class ApplyFailure extends Error {
  /** Kind and name, e.g. `Deployment chat`. */
  readonly child: string;
  constructor(obj: KubernetesObject, override readonly cause: unknown) {
    super(`${obj.kind} ${obj.metadata?.name}: ${errorMessage(cause)}`);
    this.child = `${obj.kind} ${obj.metadata?.name}`;
  }
}

async function applyChild<T extends KubernetesObject>(kube: KubeApi, obj: T): Promise<T> {
  try {
    return await kube.apply(obj);
  } catch (err) {
    throw new ApplyFailure(obj, err);
  }
}

function notReady(conditions: Conditions, reason: Reason, message: string): void {
  conditions.set({ type: 'Ready', status: 'False', reason, message });
  conditions.set({ type: 'Progressing', status: 'False', reason, message });
}

/** The referenced values (only ever hashed), or why one is missing. */
async function readSecrets(kube: KubeApi, cb: ChatBackend): Promise<SecretValue[] | { reason: Reason; message: string }> {
  const values: SecretValue[] = [];
  for (const use of secretUses(cb.spec)) {
    const secret = await kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace: cb.metadata.namespace, name: use.name });
    if (secret === undefined) return { reason: Reason.SecretNotFound, message: `Secret ${use.name} referenced by ${use.field} does not exist` };
    const value = secret.data?.[use.key] ?? secret.stringData?.[use.key];
    if (value === undefined) return { reason: Reason.SecretKeyNotFound, message: `Secret ${use.name} referenced by ${use.field} has no key ${use.key}` };
    values.push({ ...use, value });
  }
  return values;
}

function jobCondition(job: V1Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

async function schemaStep(p: Pass, digests: SecretDigests, retry: boolean, log: Logger): Promise<{ ready: boolean; outcome: Outcome }> {
  const { kube, cb, conditions } = p;
  const hash = schemaHash(cb, digests);
  const name = schemaJobName(cb, digests);
  const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: cb.metadata.namespace, name };
  let job = await kube.read<V1Job>(ref);
  if (job?.metadata?.deletionTimestamp !== undefined) return { ready: false, outcome: { requeueAfterMs: 1000 } };
  const failedBefore = p.status.schema?.failedHash === hash;
  if (retry && ((job !== undefined && jobCondition(job, 'Failed')) || (job === undefined && failedBefore))) {
    if (job !== undefined) await kube.delete(ref);
    await kube.patchAnnotations(cb.metadata.namespace, cb.metadata.name, { [ANNOTATION_RETRY_SCHEMA]: null });
    await kube.event(cb.metadata, 'Normal', EventReason.SchemaMigrationRetry, `running schema Job ${name} again (${ANNOTATION_RETRY_SCHEMA})`, COMPONENT);
    p.status.schema = { ...p.status.schema, failedHash: undefined };
    return { ready: false, outcome: { requeueAfterMs: 1000 } };
  }
  if (job === undefined && failedBefore) {
    // The failed Job is gone (its TTL removed it); failing again is not a retry policy.
    failedSchema(p, name, `schema Job ${name} failed earlier (the Job has since been removed by its TTL)`);
    return { ready: false, outcome: {} };
  }
  if (job === undefined) {
    job = await applyChild(kube, buildSchemaJob(cb, digests));
    log.info({ namespace: cb.metadata.namespace, job: name }, 'schema Job created');
    await kube.event(cb.metadata, 'Normal', EventReason.SchemaJobCreated, `created schema Job ${name} for image ${cb.spec.image}`, COMPONENT);
  }
  p.status.schema = { ...p.status.schema, jobName: name };
  if (jobCondition(job, 'Complete')) {
    p.status.schema = { appliedHash: hash, jobName: name };
    return { ready: true, outcome: {} };
  }
  const failed = jobCondition(job, 'Failed');
  if (failed) {
    p.status.schema = { ...p.status.schema, failedHash: hash };
    failedSchema(p, name, `schema Job ${name} failed: ${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim());
    return { ready: false, outcome: {} };
  }
  const running = { status: 'False' as const, reason: Reason.SchemaMigrationRunning, message: `schema Job ${name} is running chat-backend migrate` };
  conditions.set({ type: 'SchemaReady', ...running });
  conditions.set({ type: 'Progressing', ...running, status: 'True' });
  if (conditions.get('Ready')?.status !== 'True') conditions.set({ type: 'Ready', ...running });
  return { ready: false, outcome: {} };
}

function failedSchema(p: Pass, name: string, message: string): void {
  const update: Omit<ConditionUpdate, 'type'> = { status: 'False', reason: Reason.SchemaMigrationFailed, message };
  p.status.schema = { ...p.status.schema, jobName: name };
  p.conditions.set({ type: 'Ready', ...update });
  p.conditions.set({ type: 'SchemaReady', ...update });
  p.conditions.set({ type: 'Progressing', ...update });
  p.conditions.set({ type: 'Degraded', status: 'True', reason: Reason.SchemaMigrationFailed, message: `${message}; the running Deployment is left untouched; change the spec or set ${ANNOTATION_RETRY_SCHEMA} to retry` });
}

/** Replica counts of the Deployment as it is, for passes that do not apply it. */
async function observeDeployment(p: Pass): Promise<void> {
  const d = await p.kube.read<V1Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: p.cb.metadata.namespace, name: serverName(p.cb) });
  p.status.replicas = d?.status?.replicas ?? 0;
  p.status.readyReplicas = d?.status?.readyReplicas ?? 0;
}

function rolloutConditions(p: Pass, d: V1Deployment): void {
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  p.status.replicas = st.replicas ?? 0;
  p.status.readyReplicas = st.readyReplicas ?? 0;
  const observed = (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const done = observed && (st.updatedReplicas ?? 0) === want && (st.availableReplicas ?? 0) === want && (st.replicas ?? 0) === want;
  const counts = `${st.updatedReplicas ?? 0} updated, ${st.availableReplicas ?? 0} available of ${want}`;
  if (done) {
    p.conditions.set({ type: 'Ready', status: 'True', reason: Reason.ReplicasReady, message: `Deployment ${d.metadata?.name}: ${counts}` });
    p.conditions.set({ type: 'Progressing', status: 'False', reason: Reason.RolloutComplete, message: `Deployment ${d.metadata?.name} is rolled out` });
  } else {
    p.conditions.set({ type: 'Ready', status: 'False', reason: Reason.RollingOut, message: `Deployment ${d.metadata?.name}: ${counts}` });
    p.conditions.set({ type: 'Progressing', status: 'True', reason: Reason.RollingOut, message: `Deployment ${d.metadata?.name}: ${counts}` });
  }
}

async function finish(kube: KubeApi, raw: KubernetesObject, status: ChatBackendStatus, conditions: Conditions, before: ChatBackendStatus | undefined, generation: number | undefined): Promise<void> {
  status.conditions = conditions.list();
  if (generation !== undefined) status.observedGeneration = generation;
  const ns = raw.metadata!.namespace!;
  const name = raw.metadata!.name!;
  if (JSON.stringify(status) !== JSON.stringify(before ?? {})) await kube.patchStatus(ns, name, mergePatch(before ?? {}, status) as Record<string, unknown>);
  for (const t of conditions.transitions) {
    await kube.event({ namespace: ns, name, uid: raw.metadata?.uid }, t.warning ? 'Warning' : 'Normal', t.reason, `${t.type}=${t.status}: ${t.message}`, COMPONENT);
  }
}
