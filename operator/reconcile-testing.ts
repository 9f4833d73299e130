// What the reconcile tests share: a map-backed cluster holding one ChatBackend and its Secrets,
// one pass with what it did, and the cluster's part (a Job finishes, a Deployment rolls out).
import type { KubernetesObject, V1Deployment, V1Job } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { createLogger } from '../src/log.js';
import { API_VERSION, ChatBackendSchema, KIND, type ChatBackendStatus, type Condition } from './api.js';
import { schemaHash } from './builders/schema-job.js';
import { secretDigests, secretUses } from './builders/secrets.js';
import { FakeKube } from './fake-kube.js';
import type { Outcome } from './queue.js';
import { reconcile, type Observed } from './reconcile.js';

export const NS = 'team';
export const log = createLogger('silent');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SECRETS = { db: { url: 'postgres://u:p@db:5432/chat' }, jwt: { secret: 's'.repeat(40) } };
type CB = KubernetesObject & { spec: Record<string, unknown>; status?: ChatBackendStatus };

export function cluster(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): FakeKube {
  const kube = new FakeKube();
  for (const [name, data] of Object.entries(SECRETS)) {
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) } as KubernetesObject);
  }
  kube.put({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'chat', namespace: NS, uid: 'uid-cb', generation: 1, annotations }, spec: { image: 'chat-backend:1', replicas: 2, database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...spec } } as CB);
  return kube;
}

export const cb = (kube: FakeKube) => kube.chatBackend(NS, 'chat') as CB;
export const condition = (kube: FakeKube, type: string): Condition | undefined => cb(kube).status?.conditions?.find((c) => c.type === type);
export const conditions = (kube: FakeKube) => Object.fromEntries((cb(kube).status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
export const jobs = (kube: FakeKube) => kube.list('Job') as V1Job[];

/** The schema hash the reconciler computes for the ChatBackend as it is now. */
export function currentHash(kube: FakeKube): string {
  const parsed = ChatBackendSchema.parse(cb(kube));
  return schemaHash(parsed, secretDigests(parsed, secretUses(parsed.spec).map((u) => ({ ...u, value: b64((SECRETS as Record<string, Record<string, string>>)[u.name]![u.key]!) }))));
}

export async function pass(kube: FakeKube): Promise<{ outcome: Outcome; actions: string[]; events: string[]; observed: Observed | undefined }> {
  const [actions, events] = [kube.actions.length, kube.events.length];
  let observed: Observed | undefined;
  const outcome = await reconcile(kube, NS, 'chat', log, (o) => (observed = o));
  return { outcome, actions: kube.actions.slice(actions), events: kube.events.slice(events).map((e) => `${e.type} ${e.reason}`), observed };
}

export function finishJob(kube: FakeKube, type: 'Complete' | 'Failed', reason = type === 'Failed' ? 'BackoffLimitExceeded' : undefined): V1Job {
  const job = jobs(kube).at(-1)!;
  return kube.put({ ...job, status: { conditions: [{ type, status: 'True', reason, message: type === 'Failed' ? 'Job has reached the specified backoff limit' : undefined }] } });
}

/** The Deployment's controller at work: `ready` of its pods available (all when not given). */
export function rollOut(kube: FakeKube, ready?: number): void {
  const d = kube.list('Deployment')[0] as V1Deployment;
  const want = d.spec?.replicas ?? 1;
  ready ??= want;
  kube.put({ ...d, status: { observedGeneration: d.metadata?.generation, replicas: want, updatedReplicas: want, availableReplicas: ready, readyReplicas: ready } });
}

/** A ChatBackend whose schema Job is done and whose pods are Ready. */
export async function readyCluster(spec: Record<string, unknown> = {}): Promise<FakeKube> {
  const kube = cluster(spec);
  await pass(kube);
  finishJob(kube, 'Complete');
  await pass(kube);
  rollOut(kube);
  await pass(kube);
  expect(conditions(kube)).toMatchObject({ Ready: 'True ReplicasReady', Degraded: 'False AsExpected', SchemaReady: 'True SchemaMigrated' });
  return kube;
}

