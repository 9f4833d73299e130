// The optional children: Ingress, PodDisruptionBudget, HorizontalPodAutoscaler, ServiceMonitor.
import { describe, expect, it } from 'vitest';
import { buildHpa, buildIngress, buildPdb, buildServiceMonitor, SCALE_DOWN_STABILIZATION_SECONDS } from './optional.js';
import { serviceUrl } from './service.js';
import { cb } from './testing.js';

describe('optional children', () => {
  it('builds optional children only when on', () => {
    const off = cb({ podDisruptionBudget: { enabled: false } });
    expect([buildIngress(off), buildPdb(off), buildHpa(off), buildServiceMonitor(off)]).toEqual([undefined, undefined, undefined, undefined]);
    const on = cb({
      ingress: { enabled: true, host: 'chat.example.com', tlsSecretName: 'tls', className: 'nginx' },
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5 },
      metrics: { serviceMonitor: { enabled: true } },
    });
    const ing = buildIngress(on)!;
    expect(ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(ing.spec?.tls).toEqual([{ hosts: ['chat.example.com'], secretName: 'tls' }]);
    expect(serviceUrl(on)).toBe('https://chat.example.com');
    expect(buildPdb(on)?.spec?.maxUnavailable).toBe(1);
    expect(buildHpa(on)?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
    expect(buildServiceMonitor(on)?.spec).toMatchObject({ endpoints: [{ port: 'metrics', interval: '30s' }] });
  });

  it('builds an autoscaling/v2 HPA on CPU, memory when asked, scaling down slowly', () => {
    const cpu = buildHpa(cb({ autoscaling: { enabled: true, targetCPUUtilizationPercentage: 60 } }))!;
    expect(cpu.apiVersion).toBe('autoscaling/v2');
    expect(cpu.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat' });
    expect(cpu.spec?.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }]);
    const both = buildHpa(cb({ autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 } }))!;
    expect(both.spec?.metrics?.map((m) => [m.resource?.name, m.resource?.target.averageUtilization])).toEqual([['cpu', 70], ['memory', 80]]);
    // Longer than the HPA's own 300 s default, and at most one pod or 10 % every two minutes.
    const down = cpu.spec?.behavior?.scaleDown;
    expect(down?.stabilizationWindowSeconds).toBe(SCALE_DOWN_STABILIZATION_SECONDS);
    expect(SCALE_DOWN_STABILIZATION_SECONDS).toBeGreaterThan(300);
    expect(down?.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 120 }, { type: 'Percent', value: 10, periodSeconds: 120 }]);
    expect(cpu.spec?.behavior?.scaleUp?.stabilizationWindowSeconds).toBe(0);
  });

  it('refuses a memory target without a memory request', () => {
    expect(() => cb({ resources: { requests: { cpu: '100m' } }, autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 } })).toThrow(/resources.requests.memory is required/);
    expect(() => cb({ resources: { requests: { cpu: '100m' } }, autoscaling: { enabled: false, targetMemoryUtilizationPercentage: 80 } })).not.toThrow();
  });
});
