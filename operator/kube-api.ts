// What the controller, the reconciler and the leader election need from the cluster. Kube (the
// only module that talks to it) implements this; tests hand the same code a map-backed fake.
import type { Informer, KubernetesObject, V1Lease } from '@kubernetes/client-node';

export interface Ref {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export type EventType = 'Normal' | 'Warning';

export interface KubeApi {
  /** Server-side apply under the operator's field manager; the object as stored. */
  apply<T extends KubernetesObject>(obj: T): Promise<T>;
  /** The object, or undefined when it does not exist. */
  read<T extends KubernetesObject>(ref: Ref): Promise<T | undefined>;
  /** True when something was deleted; false when it was already gone or its kind is not served. */
  delete(ref: Ref): Promise<boolean>;
  /** The ChatBackend as stored (unvalidated), or undefined when it does not exist. */
  getChatBackend(namespace: string, name: string): Promise<unknown>;
  /** One merge patch of the status subresource. */
  patchStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void>;
  /** Merge-patches metadata.annotations (null removes a key). */
  patchAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void>;
  event(owner: { namespace: string; name: string; uid?: string }, type: EventType, reason: string, message: string, component: string): Promise<void>;
  /** Whether the API serves a kind in a group/version (ServiceMonitor needs prometheus-operator's CRDs). */
  serves(apiVersion: string, kind: string): Promise<boolean>;
  /** Events for one kind, all namespaces or one, optionally by label. */
  informer(apiVersion: string, kind: string, plural: string, namespace: string | undefined, labelSelector?: string): Informer<KubernetesObject>;
  /** Events for Secrets, metadata only. */
  secretInformer(namespace: string | undefined): Informer<KubernetesObject>;
  readLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(lease: V1Lease): Promise<V1Lease>;
  /** Fails with 409 when another writer changed the Lease since it was read. */
  replaceLease(lease: V1Lease): Promise<V1Lease>;
}
