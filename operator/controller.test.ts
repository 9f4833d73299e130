// Controller start and stop without a cluster: a Kube whose discovery call the test answers.
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.js';
import { Controller } from './controller.js';
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
