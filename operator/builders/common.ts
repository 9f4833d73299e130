// Shared pieces of every child object: names, labels, the owner reference, hashes and the
// security contexts of every pod the operator creates. Pure.
import { createHash } from 'node:crypto';
import type { V1OwnerReference, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { API_VERSION, KIND, type ChatBackend } from '../api.js';

/** The one field manager every server-side apply of the operator uses. */
export const FIELD_MANAGER = 'chat-backend-operator';
export const MANAGED_BY = 'chat-backend-operator';
export const SERVER_PORT = 8000;
export const METRICS_PORT = 9464;

export const ANNOTATION_PAUSED = 'chatbackend.dev/paused';
export const ANNOTATION_RETRY_SCHEMA = 'chatbackend.dev/retry-schema';
export const ANNOTATION_CONFIG_HASH = 'chatbackend.dev/config-hash';
export const ANNOTATION_SECRET_HASH = 'chatbackend.dev/secret-hash';
export const LABEL_SCHEMA_HASH = 'chatbackend.dev/schema-hash';

/**
 * The server pods and the schema Job's pod run as this one non-root user, which must match the
 * image's: a numeric id, so `runAsNonRoot` can be checked by the kubelet without reading
 * /etc/passwd in the image.
 */
export const RUN_AS_USER = 1000;

export const podSecurityContext: V1PodSecurityContext = { runAsNonRoot: true, runAsUser: RUN_AS_USER, runAsGroup: RUN_AS_USER, fsGroup: RUN_AS_USER, seccompProfile: { type: 'RuntimeDefault' } };
/** Nothing to escalate to and nothing to write but the mounted /tmp. */
export const containerSecurityContext: V1SecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } };

export function hash(value: unknown, length = 10): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, length);
}

/** Labels that select the server pods; stable for the life of the resource (selectors are immutable). */
export function selectorLabels(cb: ChatBackend): Record<string, string> {
  return { 'app.kubernetes.io/name': 'chat-backend', 'app.kubernetes.io/instance': cb.metadata.name };
}

export function labels(cb: ChatBackend, component: string): Record<string, string> {
  return { ...selectorLabels(cb), 'app.kubernetes.io/component': component, 'app.kubernetes.io/managed-by': MANAGED_BY };
}

export function ownerReference(cb: ChatBackend): V1OwnerReference {
  if (cb.metadata.uid === undefined) throw new Error(`ChatBackend ${cb.metadata.namespace}/${cb.metadata.name} has no uid`);
  // controller + blockOwnerDeletion: Kubernetes garbage-collects every child with its owner.
  return { apiVersion: API_VERSION, kind: KIND, name: cb.metadata.name, uid: cb.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function metadata(cb: ChatBackend, name: string, component: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) {
  return {
    name,
    namespace: cb.metadata.namespace,
    labels: { ...labels(cb, component), ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ownerReferences: [ownerReference(cb)],
  };
}

/** A DNS-label-safe name `<base>-<suffix>` of at most 63 characters. */
export function childName(base: string, suffix: string): string {
  const room = 63 - suffix.length - 1;
  return `${base.slice(0, room).replace(/[-.]+$/, '')}-${suffix}`;
}

/** The Service (and Deployment) name: the ChatBackend's own name, cut to a DNS label. */
export function serverName(cb: ChatBackend): string {
  return cb.metadata.name.slice(0, 63).replace(/[-.]+$/, '');
}
