// Which ChatBackends reference which Secret, so that a Secret event queues just those and not
// every ChatBackend. Fed by the ChatBackend informer (set on add and update, dropped on
// delete), so it knows a resource's references before the resource's first pass. Pure.
import { ChatBackendSpecSchema } from './api.js';
import { secretUses } from './builders/secrets.js';

export class SecretIndex {
  /** `namespace/secret` → keys (`namespace/name`) of the ChatBackends that reference it. */
  private readonly users = new Map<string, Set<string>>();
  /** ChatBackend key → the `namespace/secret` entries it is listed under. */
  private readonly refs = new Map<string, string[]>();

  /** Records the Secrets a ChatBackend references now, replacing what it referenced before. */
  set(key: string, namespace: string, secretNames: readonly string[]): void {
    this.delete(key);
    const entries = [...new Set(secretNames)].map((n) => `${namespace}/${n}`);
    for (const e of entries) {
      const set = this.users.get(e) ?? new Set<string>();
      set.add(key);
      this.users.set(e, set);
    }
    this.refs.set(key, entries);
  }

  delete(key: string): void {
    for (const e of this.refs.get(key) ?? []) {
      const set = this.users.get(e);
      set?.delete(key);
      if (set?.size === 0) this.users.delete(e);
    }
    this.refs.delete(key);
  }

  /** Keys of the ChatBackends that reference this Secret. */
  referencing(namespace: string, secretName: string): string[] {
    return [...(this.users.get(`${namespace}/${secretName}`) ?? [])];
  }

  /** Secret entries known, for tests and debugging. */
  get size(): number {
    return this.users.size;
  }
}

/**
 * The Secret names a ChatBackend as stored references. A spec that does not parse references
 * none: its pass reports InvalidSpec, and fixing it is itself an event.
 */
export function referencedSecretNames(spec: unknown): string[] {
  const parsed = ChatBackendSpecSchema.safeParse(spec);
  return parsed.success ? secretUses(parsed.data).map((u) => u.name) : [];
}
