// The reconciler without a cluster: what it reports when it cannot go on (a refused apply, a
// missing Secret, a config the server would reject, a pause) and the optional children.
import { describe, expect, it } from 'vitest';
import { ANNOTATION_PAUSED } from './builders/common.js';
import { apiError, FakeKube } from './fake-kube.js';
import { reconcile, type Observed } from './reconcile.js';
import { Reason } from './reasons.js';
import { cb, cluster, condition, conditions, log, NS, pass, readyCluster, rollOut } from './reconcile-testing.js';

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
