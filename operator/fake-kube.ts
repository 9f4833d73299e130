// A KubeApi over a map, for unit tests of the reconciler and the controller without a cluster.
// It keeps what a test asserts on: every apply, delete and event in order; the objects as an API
// server would store them (uid, generation, status kept across applies); failures a test injects.
// It is not a cluster: nothing runs Jobs or Deployments; the test sets their status with put().
import type { Informer, KubernetesObject, V1Lease } from '@kubernetes/client-node';
import { API_VERSION, KIND } from './api.js';
import type { EventType, KubeApi, Ref } from './kube-api.js';

type Obj = Record<string, unknown>;
type Handler = (arg: never) => void;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386: null removes a key, objects merge, anything else replaces. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** An error shaped as client-node's ApiException: `code` and a Status body. */
export function apiError(code: number, message: string): Error & { code: number; body: string } {
  return Object.assign(new Error(`HTTP ${code}: ${message}`), { code, body: JSON.stringify({ kind: 'Status', code, message }) });
}

export interface RecordedEvent {
  type: EventType;
  reason: string;
  message: string;
}

const keyOf = (apiVersion: string | undefined, kind: string | undefined, namespace: string | undefined, name: string | undefined) => `${apiVersion}/${kind}/${namespace}/${name}`;

class FakeInformer implements Informer<KubernetesObject> {
  private readonly handlers = new Map<string, Set<Handler>>();
  running = false;

  constructor(private readonly list: () => KubernetesObject[], readonly matches: (o: KubernetesObject) => boolean) {}

  on(verb: string, cb: Handler): void {
    if (!this.handlers.has(verb)) this.handlers.set(verb, new Set());
    this.handlers.get(verb)!.add(cb);
  }

  off(verb: string, cb: Handler): void {
    this.handlers.get(verb)?.delete(cb);
  }

  emit(verb: string, arg?: unknown): void {
    if (this.running || verb === 'error') for (const cb of this.handlers.get(verb) ?? []) (cb as (a: unknown) => void)(arg);
  }

  async start(): Promise<void> {
    this.running = true;
    this.emit('connect');
    for (const o of this.list()) this.emit('add', o);
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}

export class FakeKube implements KubeApi {
  private readonly objects = new Map<string, KubernetesObject>();
  private readonly leases = new Map<string, V1Lease>();
  private readonly informers: FakeInformer[] = [];
  private uids = 0;
  private versions = 0;
  /** Kinds the API serves, as `apiVersion/kind`; ServiceMonitor only when a test adds it. */
  readonly served = new Set<string>();
  /** `apply <Kind> <name>` and `delete <Kind> <name>`, in order. */
  readonly actions: string[] = [];
  readonly events: RecordedEvent[] = [];
  readonly statusPatches: Obj[] = [];
  /** Called before each apply; what it throws, the apply throws (the object is not stored). */
  failApply: ((obj: KubernetesObject) => void) | undefined;

  /** Places an object as the cluster would have it (a Job's status, a Deployment's rollout). */
  put<T extends KubernetesObject>(obj: T): T {
    const m = obj.metadata ?? {};
    const key = keyOf(obj.apiVersion, obj.kind, m.namespace, m.name);
    const old = this.objects.get(key);
    const stored = structuredClone({ ...obj, metadata: { ...m, uid: m.uid ?? old?.metadata?.uid ?? `uid-${++this.uids}`, resourceVersion: String(++this.versions) } }) as T;
    this.objects.set(key, stored);
    for (const i of this.informers) if (i.matches(stored)) i.emit(old ? 'update' : 'add', structuredClone(stored));
    return structuredClone(stored);
  }

  get<T extends KubernetesObject>(ref: Ref): T | undefined {
    const o = this.objects.get(keyOf(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    return o === undefined ? undefined : (structuredClone(o) as T);
  }

  /** The objects of one kind, for assertions. */
  list(kind: string): KubernetesObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind).map((o) => structuredClone(o));
  }

  chatBackend(namespace: string, name: string): (KubernetesObject & { spec?: Obj; status?: Obj }) | undefined {
    return this.get({ apiVersion: API_VERSION, kind: KIND, namespace, name });
  }

  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    this.failApply?.(obj);
    this.actions.push(`apply ${obj.kind} ${obj.metadata?.name}`);
    const old = this.objects.get(keyOf(obj.apiVersion, obj.kind, obj.metadata?.namespace, obj.metadata?.name)) as (KubernetesObject & { status?: unknown }) | undefined;
    const same = old !== undefined && JSON.stringify((old as { spec?: unknown }).spec) === JSON.stringify((obj as { spec?: unknown }).spec);
    // As the API server does: the generation moves only when the spec changes.
    const generation = same ? (old.metadata?.generation ?? 1) : (old?.metadata?.generation ?? 0) + 1;
    // What the operator does not own stays as the cluster set it: the status and the identity.
    return this.put({ ...obj, metadata: { ...obj.metadata, generation }, ...(old?.status !== undefined ? { status: old.status } : {}) });
  }

  async read<T extends KubernetesObject>(ref: Ref): Promise<T | undefined> {
    return this.get<T>(ref);
  }

  async delete(ref: Ref): Promise<boolean> {
    const key = keyOf(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const old = this.objects.get(key);
    if (old === undefined) return false;
    this.objects.delete(key);
    this.actions.push(`delete ${ref.kind} ${ref.name}`);
    for (const i of this.informers) if (i.matches(old)) i.emit('delete', structuredClone(old));
    return true;
  }

  async getChatBackend(namespace: string, name: string): Promise<unknown> {
    return this.chatBackend(namespace, name);
  }

  async patchStatus(namespace: string, name: string, status: Obj): Promise<void> {
    const cb = this.chatBackend(namespace, name);
    if (cb === undefined) throw apiError(404, `chatbackends.chatbackend.dev "${name}" not found`);
    this.statusPatches.push(structuredClone(status));
    this.put({ ...cb, status: applyMergePatch(cb.status, status) as Obj });
  }

  async patchAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
    const cb = this.chatBackend(namespace, name);
    if (cb === undefined) throw apiError(404, `chatbackends.chatbackend.dev "${name}" not found`);
    this.put({ ...cb, metadata: { ...cb.metadata, annotations: applyMergePatch(cb.metadata?.annotations, annotations) as Record<string, string> } });
  }

  async event(_owner: { namespace: string; name: string }, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ type, reason, message });
  }

  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return this.served.has(`${apiVersion}/${kind}`);
  }

  informer(apiVersion: string, kind: string, _plural: string, namespace: string | undefined): Informer<KubernetesObject> {
    const matches = (o: KubernetesObject) => o.apiVersion === apiVersion && o.kind === kind && (namespace === undefined || o.metadata?.namespace === namespace);
    const i = new FakeInformer(() => [...this.objects.values()].filter(matches), matches);
    this.informers.push(i);
    return i;
  }

  secretInformer(namespace: string | undefined): Informer<KubernetesObject> {
    return this.informer('v1', 'Secret', 'secrets', namespace);
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    const l = this.leases.get(`${namespace}/${name}`);
    return l === undefined ? undefined : structuredClone(l);
  }

  async createLease(lease: V1Lease): Promise<V1Lease> {
    const key = `${lease.metadata?.namespace}/${lease.metadata?.name}`;
    if (this.leases.has(key)) throw apiError(409, `leases "${lease.metadata?.name}" already exists`);
    return this.storeLease(key, lease);
  }

  async replaceLease(lease: V1Lease): Promise<V1Lease> {
    const key = `${lease.metadata?.namespace}/${lease.metadata?.name}`;
    const old = this.leases.get(key);
    if (old === undefined) throw apiError(404, `leases "${lease.metadata?.name}" not found`);
    if (old.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw apiError(409, 'the object has been modified');
    return this.storeLease(key, lease);
  }

  private storeLease(key: string, lease: V1Lease): V1Lease {
    const stored = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.versions) } });
    this.leases.set(key, stored);
    return structuredClone(stored);
  }
}
