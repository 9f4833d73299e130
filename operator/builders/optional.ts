// The optional children: Ingress, PodDisruptionBudget, HorizontalPodAutoscaler, ServiceMonitor.
// Each builder returns undefined when its feature is off, and the reconciler then deletes it.
import type { KubernetesObject, V1Ingress, V1PodDisruptionBudget, V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import type { ChatBackend } from '../api.js';
import { metadata, selectorLabels, serverName } from './common.js';

export function buildIngress(cb: ChatBackend): V1Ingress | undefined {
  const ing = cb.spec.ingress;
  if (!ing.enabled || ing.host === undefined) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(cb, serverName(cb), 'server', {
      annotations: {
        // Idle WebSockets must outlive the proxy's defaults (60 s in ingress-nginx).
        'nginx.ingress.kubernetes.io/proxy-read-timeout': String(ing.timeouts.readSeconds),
        'nginx.ingress.kubernetes.io/proxy-send-timeout': String(ing.timeouts.sendSeconds),
        'nginx.ingress.kubernetes.io/proxy-connect-timeout': String(ing.timeouts.connectSeconds),
        'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
        ...ing.annotations,
      },
    }),
    spec: {
      ...(ing.className ? { ingressClassName: ing.className } : {}),
      ...(ing.tlsSecretName ? { tls: [{ hosts: [ing.host], secretName: ing.tlsSecretName }] } : {}),
      rules: [{ host: ing.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serverName(cb), port: { name: 'http' } } } }] } }],
    },
  };
}

export function buildPdb(cb: ChatBackend): V1PodDisruptionBudget | undefined {
  const pdb = cb.spec.podDisruptionBudget;
  if (!pdb.enabled) return undefined;
  const budget = pdb.minAvailable !== undefined ? { minAvailable: pdb.minAvailable } : { maxUnavailable: pdb.maxUnavailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(cb, serverName(cb), 'server'),
    spec: { selector: { matchLabels: selectorLabels(cb) }, ...budget },
  };
}

const utilization = (name: 'cpu' | 'memory', percent: number): V2MetricSpec => ({
  type: 'Resource',
  resource: { name, target: { type: 'Utilization', averageUtilization: percent } },
});

/** Seconds of lower recommendations before the HPA removes pods (its default is 300). */
export const SCALE_DOWN_STABILIZATION_SECONDS = 600;

export function buildHpa(cb: ChatBackend): V2HorizontalPodAutoscaler | undefined {
  const a = cb.spec.autoscaling;
  if (!a.enabled) return undefined;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(cb, serverName(cb), 'server'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: serverName(cb) },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [
        utilization('cpu', a.targetCPUUtilizationPercentage),
        ...(a.targetMemoryUtilizationPercentage !== undefined ? [utilization('memory', a.targetMemoryUtilizationPercentage)] : []),
      ],
      behavior: {
        // Up at the HPA's default pace: a load spike must not wait.
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
        // Down slowly. Removing a pod cuts every WebSocket on it; those clients reconnect at
        // once to the remaining pods, whose CPU then jumps and can scale straight back up. A
        // longer window rides out bursty chat traffic, and at most one pod or 10 % (whichever
        // is more, so a large fleet shrinks by a share, not one pod at a time) per two minutes
        // lets each wave of reconnects settle before the next pods drain.
        scaleDown: {
          stabilizationWindowSeconds: SCALE_DOWN_STABILIZATION_SECONDS,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }, { type: 'Percent', value: 10, periodSeconds: 120 }],
        },
      },
    },
  };
}

export function buildServiceMonitor(cb: ChatBackend): (KubernetesObject & { spec: unknown }) | undefined {
  const sm = cb.spec.metrics.serviceMonitor;
  if (!sm.enabled) return undefined;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(cb, serverName(cb), 'server', { labels: sm.labels }),
    spec: { selector: { matchLabels: selectorLabels(cb) }, endpoints: [{ port: 'metrics', path: '/metrics', interval: sm.interval }] },
  };
}

/** apiVersion/kind of each optional child, for deleting the ones switched off. */
export const OPTIONAL_KINDS = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', build: buildIngress },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', build: buildPdb },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', build: buildHpa },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', build: buildServiceMonitor },
] as const;
