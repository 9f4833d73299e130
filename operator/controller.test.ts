// Controller start and stop without a cluster: a Kube whose discovery call the test answers.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.js';
import { API_VERSION, KIND } from './api.js';
import { Controller } from './controller.js';
import { FakeKube } from './fake-kube.js';
import type { Kube } from './kube.js';
import { createOperatorMetrics } from './metrics.js';

describe('Controller', () => {
  it('starts no informer when stop() came while start() was still asking what the API serves', async () => {
    let answer!: (served: boolean) => void;
    const informer = () => ({ on: () => undefined, start: async () => undefined, stop: async () => undefined });
    const kube = {
      serves: () => new Promise<boolean>((resolve) => (answer = resolve)),
      informer: vi.fn(informer),
      secretInformer: vi.fn(informer),
    };
    const controller = new Controller(kube as unknown as Kube, createLogger('silent'), createOperatorMetrics(), { namespaces: ['chat'] });
    const started = controller.start();
    await controller.stop();
    answer(false);
    await started;
    expect(kube.informer).not.toHaveBeenCalled();
    expect(kube.secretInformer).not.toHaveBeenCalled();
    expect(controller.synced).toBe(false);
  });
});

describe('Controller over a map-backed cluster', () => {
  const start = async (kube: FakeKube, metrics = createOperatorMetrics()) => {
    const controller = new Controller(kube, createLogger('silent'), metrics, { namespaces: ['team'] });
    await controller.start();
    return controller;
  };

  it('watches ServiceMonitors only where the API serves them', async () => {
    for (const served of [false, true]) {
      const kube = new FakeKube();
      if (served) kube.served.add('monitoring.coreos.com/v1/ServiceMonitor');
      const informer = vi.spyOn(kube, 'informer');
      const controller = await start(kube);
      await controller.stop();
      expect(informer.mock.calls.some((c) => c[1] === 'ServiceMonitor'), `served=${served}`).toBe(served);
    }
  });

  it('reconciles a ChatBackend its informer reports: the schema Job first', async () => {
    const kube = new FakeKube();
    const metrics = createOperatorMetrics();
    const controller = await start(kube, metrics);
    kube.put({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'chat', namespace: 'team', uid: 'u1', generation: 1 }, spec: { image: 'chat-backend:1', database: { secretRef: { name: 'db' } }, auth: { jwksUrl: 'https://issuer.example.com/jwks' } } } as KubernetesObject);
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'team' }, data: { url: Buffer.from('postgres://db/chat').toString('base64') } } as KubernetesObject);
    // Waits on what the operator did (its pass counter), not on time.
    await vi.waitFor(async () => expect((await metrics.reconcileTotal.get()).values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0));
    await vi.waitFor(() => expect(kube.list('Job')).toHaveLength(1));
    await controller.stop();
    expect(kube.list('Deployment')).toEqual([]);
  });
});
