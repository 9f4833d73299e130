// The reconciler without a cluster: the real reconcile() over a map-backed KubeApi, where the
// test plays the cluster's part (a Job completes or fails, a Deployment rolls out).
import type { KubernetesObject, V1Deployment, V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { API_VERSION, ChatBackendSchema, KIND, type ChatBackendStatus, type Condition } from './api.js';
import { ANNOTATION_PAUSED, ANNOTATION_RETRY_SCHEMA } from './builders/common.js';
import { schemaHash } from './builders/schema-job.js';
import { secretDigests, secretUses } from './builders/secrets.js';
import { apiError, FakeKube } from './fake-kube.js';
import type { Outcome } from './queue.js';
import { reconcile, type Observed } from './reconcile.js';
import { EventReason, Reason } from './reasons.js';

const NS = 'team';
const log = createLogger('silent');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SECRETS = { db: { url: 'postgres://u:p@db:5432/chat' }, jwt: { secret: 's'.repeat(40) } };
type CB = KubernetesObject & { spec: Record<string, unknown>; status?: ChatBackendStatus };

function cluster(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): FakeKube {
  const kube = new FakeKube();
  for (const [name, data] of Object.entries(SECRETS)) {
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) } as KubernetesObject);
  }
  kube.put({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'chat', namespace: NS, uid: 'uid-cb', generation: 1, annotations }, spec: { image: 'chat-backend:1', replicas: 2, database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...spec } } as CB);
  return kube;
}

const cb = (kube: FakeKube) => kube.chatBackend(NS, 'chat') as CB;
const condition = (kube: FakeKube, type: string): Condition | undefined => cb(kube).status?.conditions?.find((c) => c.type === type);
const conditions = (kube: FakeKube) => Object.fromEntries((cb(kube).status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
const jobs = (kube: FakeKube) => kube.list('Job') as V1Job[];

/** The schema hash the reconciler computes for the ChatBackend as it is now. */
function currentHash(kube: FakeKube): string {
  const parsed = ChatBackendSchema.parse(cb(kube));
  return schemaHash(parsed, secretDigests(parsed, secretUses(parsed.spec).map((u) => ({ ...u, value: b64((SECRETS as Record<string, Record<string, string>>)[u.name]![u.key]!) }))));
}

async function pass(kube: FakeKube): Promise<{ outcome: Outcome; actions: string[]; events: string[]; observed: Observed | undefined }> {
  const [actions, events] = [kube.actions.length, kube.events.length];
  let observed: Observed | undefined;
  const outcome = await reconcile(kube, NS, 'chat', log, (o) => (observed = o));
  return { outcome, actions: kube.actions.slice(actions), events: kube.events.slice(events).map((e) => `${e.type} ${e.reason}`), observed };
}

function finishJob(kube: FakeKube, type: 'Complete' | 'Failed', reason = type === 'Failed' ? 'BackoffLimitExceeded' : undefined): V1Job {
  const job = jobs(kube).at(-1)!;
  return kube.put({ ...job, status: { conditions: [{ type, status: 'True', reason, message: type === 'Failed' ? 'Job has reached the specified backoff limit' : undefined }] } });
}

/** The Deployment's controller at work: `ready` of its pods available (all when not given). */
function rollOut(kube: FakeKube, ready?: number): void {
  const d = kube.list('Deployment')[0] as V1Deployment;
  const want = d.spec?.replicas ?? 1;
  ready ??= want;
  kube.put({ ...d, status: { observedGeneration: d.metadata?.generation, replicas: want, updatedReplicas: want, availableReplicas: ready, readyReplicas: ready } });
}

/** A ChatBackend whose schema Job is done and whose pods are Ready. */
async function readyCluster(spec: Record<string, unknown> = {}): Promise<FakeKube> {
  const kube = cluster(spec);
  await pass(kube);
  finishJob(kube, 'Complete');
  await pass(kube);
  rollOut(kube);
  await pass(kube);
  expect(conditions(kube)).toMatchObject({ Ready: 'True ReplicasReady', Degraded: 'False AsExpected', SchemaReady: 'True SchemaMigrated' });
  return kube;
}

describe('reconcile: the schema Job comes first', () => {
  it('migrates a new ChatBackend before it applies any Deployment', async () => {
    const kube = cluster();
    const first = await pass(kube);
    expect(first.actions, 'the first pass must create the schema Job and apply nothing else (the Deployment waits for the migration)').toEqual([`apply Job ${jobs(kube)[0]?.metadata?.name}`]);
    expect(kube.list('Deployment'), 'a Deployment was applied before the schema Job completed').toEqual([]);
    expect(first.events).toContain(`Normal ${EventReason.SchemaJobCreated}`);
    expect(conditions(kube)).toEqual({ Ready: 'False SchemaMigrationRunning', Progressing: 'True SchemaMigrationRunning', SchemaReady: 'False SchemaMigrationRunning' });

    const again = await pass(kube);
    expect(again.actions, 'a running schema Job is waited for, neither re-applied nor followed by the Deployment').toEqual([]);

    finishJob(kube, 'Complete');
    const done = await pass(kube);
    expect(done.actions.slice(0, 2)).toEqual(['apply Service chat', 'apply Deployment chat']);
    expect(cb(kube).status?.schema).toEqual({ appliedHash: currentHash(kube), jobName: jobs(kube)[0]?.metadata?.name });
    expect(conditions(kube)).toMatchObject({ SchemaReady: 'True SchemaMigrated', Ready: 'False RollingOut', Progressing: 'True RollingOut', Degraded: 'False AsExpected' });
    rollOut(kube, 2);
    const rolled = await pass(kube);
    expect(conditions(kube)).toMatchObject({ Ready: 'True ReplicasReady', Progressing: 'False RolloutComplete' });
    expect(rolled.observed).toEqual({ gone: false, readyReplicas: 2, desiredReplicas: 2, schemaFailed: false });
    expect(cb(kube).status).toMatchObject({ observedGeneration: 1, replicas: 2, readyReplicas: 2, url: 'http://chat.team.svc:80' });
  });

  it('keeps the old pods on the old image until the new image has migrated', async () => {
    const kube = await readyCluster();
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 2 }, spec: { ...cb(kube).spec, image: 'chat-backend:2' } });
    const next = await pass(kube);
    expect(next.actions, 'a new image must get its own schema Job before the Deployment changes').toEqual([`apply Job ${jobs(kube).at(-1)?.metadata?.name}`]);
    const image = () => (kube.list('Deployment')[0] as V1Deployment).spec?.template.spec?.containers[0]?.image;
    expect(image(), 'the Deployment was moved to the new image before its schema Job completed').toBe('chat-backend:1');
    expect(condition(kube, 'Ready')?.status, 'Ready stays True while the running version serves').toBe('True');
    finishJob(kube, 'Complete');
    await pass(kube);
    expect(image()).toBe('chat-backend:2');
  });

  // One row per state of the schema Job the reconciler can meet.
  const rows: {
    name: string;
    arrange: (kube: FakeKube) => Promise<void> | void;
    actions: (job: string) => string[];
    outcome?: Outcome;
    conditions: Record<string, string>;
    events?: string[];
    schema?: (hash: string, job: string) => Record<string, unknown>;
    annotations?: Record<string, string>;
  }[] = [
    {
      name: 'no Job yet: creates it',
      arrange: () => undefined,
      actions: (job) => [`apply Job ${job}`],
      conditions: { SchemaReady: 'False SchemaMigrationRunning', Ready: 'False SchemaMigrationRunning' },
      // The Job, then one event per condition that changed.
      events: [`Normal ${EventReason.SchemaJobCreated}`, 'Normal SchemaMigrationRunning', 'Normal SchemaMigrationRunning', 'Normal SchemaMigrationRunning'],
    },
    {
      name: 'Job being deleted: waits for it to go',
      arrange: (kube) => {
        const job = jobs(kube)[0]!;
        kube.put({ ...job, metadata: { ...job.metadata, deletionTimestamp: new Date() } });
      },
      actions: () => [],
      outcome: { requeueAfterMs: 1000 },
      conditions: { SchemaReady: 'False SchemaMigrationRunning' },
    },
    {
      name: 'Job complete: records the hash and applies the Deployment',
      arrange: (kube) => void finishJob(kube, 'Complete'),
      actions: () => ['apply Service chat', 'apply Deployment chat', 'apply PodDisruptionBudget chat'],
      conditions: { SchemaReady: 'True SchemaMigrated', Degraded: 'False AsExpected', Ready: 'False RollingOut' },
      schema: (hash, job) => ({ appliedHash: hash, jobName: job }),
    },
    {
      name: 'Job failed: reports it and leaves the Deployment alone',
      arrange: (kube) => void finishJob(kube, 'Failed'),
      actions: () => [],
      conditions: { SchemaReady: 'False SchemaMigrationFailed', Ready: 'False SchemaMigrationFailed', Degraded: 'True SchemaMigrationFailed' },
      events: ['Warning SchemaMigrationFailed', 'Warning SchemaMigrationFailed', 'Warning SchemaMigrationFailed', 'Warning SchemaMigrationFailed'],
      schema: (hash, job) => ({ failedHash: hash, jobName: job }),
    },
    {
      name: 'Job failed and removed by its TTL: does not run it again by itself',
      arrange: async (kube) => {
        finishJob(kube, 'Failed');
        await pass(kube);
        await kube.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name: jobs(kube)[0]!.metadata!.name! });
      },
      actions: () => [],
      conditions: { SchemaReady: 'False SchemaMigrationFailed', Degraded: 'True SchemaMigrationFailed' },
      schema: (hash, job) => ({ failedHash: hash, jobName: job }),
    },
    {
      name: 'Job failed, retry annotation: deletes the Job, clears the annotation, comes back',
      arrange: async (kube) => {
        finishJob(kube, 'Failed');
        await pass(kube);
        await kube.patchAnnotations(NS, 'chat', { [ANNOTATION_RETRY_SCHEMA]: 'now' });
      },
      actions: (job) => [`delete Job ${job}`],
      outcome: { requeueAfterMs: 1000 },
      conditions: { SchemaReady: 'False SchemaMigrationFailed' },
      events: [`Normal ${EventReason.SchemaMigrationRetry}`],
      schema: (_hash, job) => ({ jobName: job }),
      annotations: {},
    },
    {
      name: 'Job failed and gone, retry annotation: forgets the failure, comes back',
      arrange: async (kube) => {
        finishJob(kube, 'Failed');
        await pass(kube);
        await kube.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name: jobs(kube)[0]!.metadata!.name! });
        await kube.patchAnnotations(NS, 'chat', { [ANNOTATION_RETRY_SCHEMA]: 'now' });
      },
      actions: () => [],
      outcome: { requeueAfterMs: 1000 },
      conditions: { SchemaReady: 'False SchemaMigrationFailed' },
      events: [`Normal ${EventReason.SchemaMigrationRetry}`],
      annotations: {},
    },
    {
      name: 'retry annotation on a running Job: ignored',
      arrange: (kube) => kube.patchAnnotations(NS, 'chat', { [ANNOTATION_RETRY_SCHEMA]: 'now' }),
      actions: () => [],
      conditions: { SchemaReady: 'False SchemaMigrationRunning' },
      annotations: { [ANNOTATION_RETRY_SCHEMA]: 'now' },
    },
  ];

  it.each(rows)('$name', async (row) => {
    const kube = cluster();
    // Every row but the first starts after a first pass created the Job.
    if (row.name !== rows[0]!.name) await pass(kube);
    await row.arrange(kube);
    const result = await pass(kube);
    const job = jobs(kube)[0]?.metadata?.name ?? `chat-schema-${currentHash(kube)}`;
    expect(result.actions, 'what the pass applied or deleted').toEqual(row.actions(job));
    expect(result.outcome).toEqual(row.outcome ?? {});
    expect(conditions(kube)).toMatchObject(row.conditions);
    if (row.events) expect(result.events).toEqual(row.events);
    if (row.schema) expect(cb(kube).status?.schema).toEqual(row.schema(currentHash(kube), job));
    if (row.annotations) expect(cb(kube).metadata?.annotations ?? {}).toEqual(row.annotations);
    if (!row.actions(job).includes('apply Deployment chat')) expect(kube.list('Deployment'), 'no Deployment before the schema is migrated').toEqual([]);
  });

  it('runs no Job when the schema of this hash is already applied', async () => {
    const kube = await readyCluster();
    const before = jobs(kube).length;
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 2 }, spec: { ...cb(kube).spec, replicas: 3, logLevel: 'debug' } });
    const next = await pass(kube);
    expect(jobs(kube)).toHaveLength(before);
    expect(next.actions).toContain('apply Deployment chat');
    expect((kube.list('Deployment')[0] as V1Deployment).spec?.replicas).toBe(3);
  });
});

describe('reconcile: apply failures', () => {
  it('reports a refused apply in status and as a Warning, and clears it once the apply works', async () => {
    const kube = await readyCluster();
    const refusal = apiError(422, 'Deployment.apps "chat" is invalid: spec.template.spec.containers[0].resources: quota exceeded');
    kube.failApply = (o) => {
      if (o.kind === 'Deployment') throw refusal;
    };
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 2 }, spec: { ...cb(kube).spec, replicas: 3 } });
    const failed = reconcile(kube, NS, 'chat', log);
    await expect(failed, 'the refusal goes to the queue, which retries with backoff').rejects.toBe(refusal);
    const degraded = condition(kube, 'Degraded');
    expect(degraded?.status, 'Degraded must say the apply failed').toBe('True');
    expect(degraded?.reason).toBe(Reason.ApplyFailed);
    expect(degraded?.message).toContain('Deployment chat was not applied');
    expect(degraded?.message).toContain('quota exceeded');
    expect(conditions(kube)).toMatchObject({ Ready: 'False ApplyFailed', Progressing: 'False ApplyFailed' });
    expect(cb(kube).status?.observedGeneration).toBe(2);
    expect(kube.events.filter((e) => e.reason === Reason.ApplyFailed).map((e) => e.type)).toContain('Warning');

    kube.failApply = undefined;
    await pass(kube);
    rollOut(kube, 3);
    await pass(kube);
    expect(conditions(kube)).toMatchObject({ Ready: 'True ReplicasReady', Degraded: 'False AsExpected' });
  });

  it('reports a refused schema Job the same way', async () => {
    const kube = cluster();
    kube.failApply = (o) => {
      if (o.kind === 'Job') throw apiError(403, 'jobs.batch is forbidden: User "system:serviceaccount:ops:op" cannot patch resource "jobs"');
    };
    await expect(reconcile(kube, NS, 'chat', log)).rejects.toMatchObject({ code: 403 });
    expect(condition(kube, 'Degraded')).toMatchObject({ status: 'True', reason: Reason.ApplyFailed });
    expect(condition(kube, 'Degraded')?.message).toMatch(/^Job chat-schema-[0-9a-f]{10} was not applied: jobs.batch is forbidden/);
  });

  it('leaves a conflict to the next pass without reporting it', async () => {
    const kube = await readyCluster();
    kube.failApply = (o) => {
      if (o.kind === 'Service') throw apiError(409, 'Operation cannot be fulfilled');
    };
    await expect(reconcile(kube, NS, 'chat', log)).rejects.toMatchObject({ code: 409 });
    expect(conditions(kube)).toMatchObject({ Ready: 'True ReplicasReady', Degraded: 'False AsExpected' });
  });
});

describe('reconcile: what stops a pass', () => {
  it('names a missing Secret and a missing key, and applies nothing', async () => {
    const kube = cluster({ database: { secretRef: { name: 'db-other' } } });
    const r = await pass(kube);
    expect(r.actions).toEqual([]);
    expect(condition(kube, 'Ready')).toMatchObject({ status: 'False', reason: Reason.SecretNotFound });
    expect(condition(kube, 'Ready')?.message).toContain('db-other');
    expect(r.events).toContain('Warning SecretNotFound');
    const keyless = cluster({ database: { secretRef: { name: 'db', key: 'dsn' } } });
    await pass(keyless);
    expect(condition(keyless, 'Degraded')).toMatchObject({ status: 'True', reason: Reason.SecretKeyNotFound });
    expect(condition(keyless, 'Degraded')?.message).toContain('no key dsn');
  });

  it('reports a config the server would reject, and an invalid spec', async () => {
    const kube = cluster({ auth: { jwtSecretRef: { name: 'jwt' }, allowedOrigins: ['https://app.example.com/path'] } });
    expect((await pass(kube)).actions).toEqual([]);
    expect(condition(kube, 'Ready')).toMatchObject({ reason: Reason.InvalidConfig });
    expect(condition(kube, 'Ready')?.message).toContain('ALLOWED_ORIGINS');
    const invalid = cluster({ replicas: -1 });
    expect((await pass(invalid)).actions).toEqual([]);
    expect(condition(invalid, 'Ready')).toMatchObject({ status: 'False', reason: Reason.InvalidSpec });
    expect(condition(invalid, 'Ready')?.message).toContain('spec.replicas');
  });

  it('leaves the children as they are while paused', async () => {
    const kube = await readyCluster();
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 2, annotations: { [ANNOTATION_PAUSED]: 'true' } }, spec: { ...cb(kube).spec, replicas: 5 } });
    const r = await pass(kube);
    expect(r.actions).toEqual([]);
    expect(condition(kube, 'Progressing')).toMatchObject({ status: 'False', reason: Reason.ReconcilePaused });
    expect(cb(kube).status?.observedGeneration).toBe(2);
  });

  it('reports a deleted ChatBackend as gone', async () => {
    const kube = new FakeKube();
    let observed: Observed | undefined;
    expect(await reconcile(kube, NS, 'chat', log, (o) => (observed = o))).toEqual({});
    expect(observed?.gone).toBe(true);
  });
});

describe('reconcile: optional children', () => {
  it('deletes a switched-off child, and asks about ServiceMonitors only where the API serves them', async () => {
    const kube = await readyCluster({ autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 } });
    expect(kube.list('HorizontalPodAutoscaler')).toHaveLength(1);
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 2 }, spec: { ...cb(kube).spec, autoscaling: { enabled: false } } });
    const r = await pass(kube);
    expect(r.actions).toContain('delete HorizontalPodAutoscaler chat');
    expect(r.actions.some((a) => a.includes('ServiceMonitor'))).toBe(false);

    kube.served.add('monitoring.coreos.com/v1/ServiceMonitor');
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 3 }, spec: { ...cb(kube).spec, metrics: { serviceMonitor: { enabled: true } } } });
    expect((await pass(kube)).actions).toContain('apply ServiceMonitor chat');
    kube.put({ ...cb(kube), metadata: { ...cb(kube).metadata, generation: 4 }, spec: { ...cb(kube).spec, metrics: { serviceMonitor: { enabled: false } } } });
    expect((await pass(kube)).actions).toContain('delete ServiceMonitor chat');
  });
});
