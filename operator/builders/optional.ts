// The optional children: Ingress, PodDisruptionBudget, HorizontalPodAutoscaler, ServiceMonitor.
// Each builder returns undefined when its feature is off, and the reconciler then deletes it.
import type { KubernetesObject, V1HorizontalPodAutoscaler, V1Ingress, V1PodDisruptionBudget } from '@kubernetes/client-node';
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

export function buildHpa(cb: ChatBackend): V1HorizontalPodAutoscaler | undefined {
  const a = cb.spec.autoscaling;
  if (!a.enabled) return undefined;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(cb, serverName(cb), 'server'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: serverName(cb) },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      targetCPUUtilizationPercentage: a.targetCPUUtilizationPercentage,
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
  { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', build: buildHpa },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', build: buildServiceMonitor },
] as const;
