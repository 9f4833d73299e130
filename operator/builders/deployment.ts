// The server Deployment: readiness on /health/full (database included), liveness on /health,
// a preStop pause and a grace period that covers the server's drain, the config hash and a
// digest of the referenced Secret values in the pod template so a change to either rolls the
// pods (the env only names the Secrets, so the kubelet would not notice), and zone/host spread.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ChatBackend } from '../api.js';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_SECRET_HASH, containerSecurityContext, LABEL_SCHEMA_HASH, labels, metadata, METRICS_PORT, podSecurityContext, selectorLabels, SERVER_PORT, serverName } from './common.js';
import { PRE_STOP_SECONDS, SHUTDOWN_GRACE_SECONDS, type RenderedConfig } from './config.js';
import { schemaHash } from './schema-job.js';
import type { SecretDigests } from './secrets.js';
import { busPod } from './bus.js';

/** preStop, then the server's drain, then a few seconds for the process to exit. */
export const TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + SHUTDOWN_GRACE_SECONDS + 5;

export function buildDeployment(cb: ChatBackend, config: RenderedConfig, secrets: SecretDigests): V1Deployment {
  const s = cb.spec;
  const podLabels = labels(cb, 'server');
  const bus = busPod(s);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(cb, serverName(cb), 'server'),
    spec: {
      // With an autoscaler the HPA owns replicas; leaving the field out lets it keep them.
      ...(s.autoscaling.enabled ? {} : { replicas: s.replicas }),
      selector: { matchLabels: selectorLabels(cb) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            ...s.podAnnotations,
            [ANNOTATION_CONFIG_HASH]: config.hash,
            [ANNOTATION_SECRET_HASH]: secrets.all,
            [LABEL_SCHEMA_HASH]: schemaHash(cb, secrets),
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(METRICS_PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
          ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
          securityContext: podSecurityContext,
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(cb) } } },
              ],
            },
          },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels(cb) } },
          ],
          containers: [
            {
              name: 'server',
              image: s.image,
              imagePullPolicy: s.imagePullPolicy,
              args: ['serve'],
              env: config.env,
              ports: [
                { name: 'http', containerPort: SERVER_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/health/full', port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
              livenessProbe: { httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
              startupProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
              // The sleep action needs no shell in the image; routing stops before the drain starts.
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
              resources: s.resources as never,
              securityContext: containerSecurityContext,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...bus.mounts],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }, ...bus.volumes],
        },
      },
    },
  };
}
