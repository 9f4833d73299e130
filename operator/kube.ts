// The only module that talks to the cluster: server-side apply under one field manager, reads,
// deletes, the status subresource, events, Leases and informers. Everything else is given a
// KubeApi (kube-api.ts), which this implements.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Lease,
} from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, API_VERSION } from './api.js';
import { FIELD_MANAGER } from './builders/common.js';
import type { EventType, KubeApi, Ref } from './kube-api.js';

export type { EventType, KubeApi, Ref } from './kube-api.js';

/** The HTTP status of a failed request: ApiException has `code`, a refused watch `statusCode`. */
export function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'number') return err.code;
  return 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;
}

/** The API server's message of a failed request, else the error's own. */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = (err as { body: unknown }).body;
    if (typeof body === 'string') {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body; // not JSON: the raw text is the message
      }
    }
    if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}

type Cached = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/** What a Secret watch keeps: enough to key it and see it change (resourceVersion), no values. */
function secretMetadata(o: KubernetesObject): KubernetesObject {
  const m = o.metadata ?? {};
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion } };
}

/** Drops Secret values from watch events before the informer's cache stores them. */
class SecretMetadataWatch extends Watch {
  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    // ERROR carries a Status and BOOKMARK only a resourceVersion: nothing to drop.
    return super.watch(path, queryParams, (phase, obj: KubernetesObject) => callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? secretMetadata(obj) : obj), done);
  }
}

/**
 * Helm keeps each release's manifests in a Secret of this type, rewritten on every upgrade and
 * often large; a ChatBackend never references one, so its watch leaves them out.
 */
const SECRET_FIELD_SELECTOR = 'type!=helm.sh/release.v1';

export class Kube implements KubeApi {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** Server-side apply; force, because the operator is the owner of its children's fields. */
  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  /** The object, or undefined when it does not exist. */
  async read<T extends KubernetesObject>(ref: Ref): Promise<T | undefined> {
    try {
      return await this.objects.read<T>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } } as never);
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** Deletes with background propagation; true when something was deleted. */
  async delete(ref: Ref): Promise<boolean> {
    try {
      await this.objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }, undefined, undefined, undefined, undefined, 'Background');
      return true;
    } catch (err) {
      // 404: already gone. A kind whose CRD is not installed (ServiceMonitor) cannot exist either.
      if (statusCode(err) === 404 || /resource .* not found|could not find/i.test(errorMessage(err))) return false;
      throw err;
    }
  }

  async secretExists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.core.readNamespacedSecret({ name, namespace });
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  async getChatBackend(namespace: string, name: string): Promise<unknown> {
    try {
      return await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** One merge patch of the status subresource (conditions replace as a list; null removes a field). */
  async patchStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status }, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Merge-patches metadata.annotations (null removes a key). */
  async patchAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async event(owner: { namespace: string; name: string; uid?: string }, type: EventType, reason: string, message: string, component: string): Promise<void> {
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: owner.namespace,
      body: {
        metadata: { generateName: `${owner.name}.`, namespace: owner.namespace },
        involvedObject: { apiVersion: API_VERSION, kind: KIND, name: owner.name, namespace: owner.namespace, uid: owner.uid },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        reportingComponent: component,
        reportingInstance: component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace: lease.metadata!.namespace!, body: lease });
  }

  /** Replace with the read resourceVersion: a concurrent writer makes this fail with 409. */
  replaceLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace: lease.metadata!.namespace!, name: lease.metadata!.name!, body: lease });
  }

  /**
   * Whether an API group/version serves a kind (e.g. ServiceMonitor needs prometheus-operator's
   * CRDs), asked of API discovery: every authenticated user may read it (system:discovery),
   * while listing the kind cluster-wide is refused (403) to an operator whose RBAC covers only
   * its watched namespaces, although the CRD is there.
   */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    const slash = apiVersion.indexOf('/');
    try {
      const list = slash < 0 ? await this.core.getAPIResources() : await this.custom.getAPIResources({ group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) });
      return list.resources.some((r) => r.kind === kind && !r.name.includes('/'));
    } catch (err) {
      if (statusCode(err) === 404) return false; // the group/version is not served at all
      throw err;
    }
  }

  /** An informer over one kind, all namespaces or one; list and watch share the label selector. */
  informer(apiVersion: string, kind: string, plural: string, namespace: string | undefined, labelSelector?: string): Cached {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const path = namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`;
    const list = () => this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector) as Promise<KubernetesListObject<KubernetesObject>>;
    return makeInformer(this.kc, path, list, labelSelector);
  }

  /**
   * Secrets of all namespaces or one, cached as metadata only: each change to a Secret is an
   * event (its resourceVersion moves), while no value stays in the operator's memory. The
   * reconciler reads the few Secrets a ChatBackend references when it needs their values.
   */
  secretInformer(namespace: string | undefined): Cached {
    const path = namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`;
    const list = async () => {
      const res = (await this.objects.list('v1', 'Secret', namespace, undefined, undefined, undefined, SECRET_FIELD_SELECTOR)) as KubernetesListObject<KubernetesObject>;
      return { ...res, items: res.items.map(secretMetadata) };
    };
    return new ListWatch(path, new SecretMetadataWatch(this.kc), list, false, undefined, SECRET_FIELD_SELECTOR);
  }
}
