// Shared fixtures of the builder tests: a parsed ChatBackend, digests of its Secrets, its config.
import { ChatBackendSchema, type ChatBackend } from '../api.js';
import { renderConfig } from './config.js';
import { secretDigests, secretUses, type SecretDigests } from './secrets.js';

export function cb(spec: Record<string, unknown> = {}): ChatBackend {
  return ChatBackendSchema.parse({
    apiVersion: 'chatbackend.dev/v1alpha1',
    kind: 'ChatBackend',
    metadata: { name: 'chat', namespace: 'team', uid: 'uid-1', generation: 3 },
    spec: { image: 'chat-backend:1', database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...spec },
  });
}

/** Digests of the referenced Secrets with one value each, `override` replacing some by Secret name. */
export function digests(c: ChatBackend, override: Record<string, string> = {}): SecretDigests {
  return secretDigests(c, secretUses(c.spec).map((u) => ({ ...u, value: override[u.name] ?? `value-of-${u.name}` })));
}

export function config(c: ChatBackend) {
  const r = renderConfig(c);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}
