// The Secrets a ChatBackend references, and digests of the referenced values. The digests go
// into the pod template (so a changed value rolls the pods) and the schema hash; anyone who
// may read a Deployment sees them, so they are sha256 over the value salted with the
// ChatBackend's uid: no value, and no bare hash that a table of common passwords would match.
// Pure: the reconciler reads the Secrets and hands the values in.
import { createHash } from 'node:crypto';
import type { ChatBackend, ChatBackendSpec } from '../api.js';
import { busSecretUses } from './bus.js';

export interface SecretUse {
  /** The spec field that names the Secret, for messages. */
  field: string;
  name: string;
  key: string;
}

/** A referenced key with its value as the API server returns it (base64). */
export interface SecretValue extends SecretUse {
  value: string;
}

export interface SecretDigests {
  /** Every referenced value: the pod template annotation. */
  all: string;
  /** The database URL alone: part of the schema hash. */
  database: string;
}

export const DATABASE_FIELD = 'spec.database.secretRef';

export function secretUses(spec: ChatBackendSpec): SecretUse[] {
  const uses: SecretUse[] = [{ field: DATABASE_FIELD, ...spec.database.secretRef }];
  if (spec.auth.jwtSecretRef !== undefined) uses.push({ field: 'spec.auth.jwtSecretRef', ...spec.auth.jwtSecretRef });
  if (spec.llm.apiKeySecretRef !== undefined) uses.push({ field: 'spec.llm.apiKeySecretRef', ...spec.llm.apiKeySecretRef });
  uses.push(...busSecretUses(spec));
  return uses;
}

function digest(cb: ChatBackend, values: SecretValue[]): string {
  const h = createHash('sha256');
  // JSON arrays frame each part, so no two different inputs concatenate to the same bytes.
  h.update(JSON.stringify(['chatbackend.dev/secret-hash/v1', cb.metadata.uid ?? '']));
  for (const v of values) h.update(JSON.stringify([v.name, v.key, v.value]));
  return h.digest('hex').slice(0, 16);
}

export function secretDigests(cb: ChatBackend, values: SecretValue[]): SecretDigests {
  return { all: digest(cb, values), database: digest(cb, values.filter((v) => v.field === DATABASE_FIELD)) };
}
