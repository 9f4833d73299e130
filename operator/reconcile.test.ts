// The reconciler without a cluster: the real reconcile() over a map-backed KubeApi, where the
// test plays the cluster's part. Here: the schema Job comes before any Deployment.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION_RETRY_SCHEMA } from './builders/common.js';
import type { FakeKube } from './fake-kube.js';
import type { Outcome } from './queue.js';
import { EventReason } from './reasons.js';
import { cb, cluster, condition, conditions, currentHash, finishJob, jobs, NS, pass, readyCluster, rollOut } from './reconcile-testing.js';

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
