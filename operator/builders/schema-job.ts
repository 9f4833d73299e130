// The schema Job: `chat-backend migrate` against the database Secret, named by a hash of what
// can change the schema (the image), which database it is, and how it runs, so a new image
// gets a new Job and an unchanged one is never migrated twice.
import type { V1Job } from '@kubernetes/client-node';
import type { ChatBackend } from '../api.js';
import { childName, hash, LABEL_SCHEMA_HASH, metadata } from './common.js';
import { databaseEnv } from './config.js';
import type { SecretDigests } from './secrets.js';

export function schemaHash(cb: ChatBackend, secrets: SecretDigests): string {
  const s = cb.spec;
  // The database URL's value counts, not only which Secret holds it: a new value can name
  // another database (moved, restored into a new instance) that nothing has migrated, and the
  // server pods never migrate (MIGRATE_ON_START=false). For a password rotation the Job finds
  // the schema current within seconds, and a Job that cannot connect with the new value stops
  // the rollout before any running pod is replaced. The JWT and LLM keys cannot change the
  // schema, so they only roll the pods.
  return hash({ image: s.image, database: s.database, databaseValue: secrets.database, schemaJob: s.schemaJob, pullSecrets: s.imagePullSecrets ?? [], nodeSelector: s.nodeSelector ?? {} });
}

export function schemaJobName(cb: ChatBackend, secrets: SecretDigests): string {
  return childName(cb.metadata.name, `schema-${schemaHash(cb, secrets)}`);
}

export const MIGRATE_ARGS = ['migrate'];

export function buildSchemaJob(cb: ChatBackend, secrets: SecretDigests): V1Job {
  const s = cb.spec;
  const h = schemaHash(cb, secrets);
  const meta = metadata(cb, schemaJobName(cb, secrets), 'schema', { labels: { [LABEL_SCHEMA_HASH]: h } });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta,
    spec: {
      backoffLimit: s.schemaJob.backoffLimit,
      activeDeadlineSeconds: s.schemaJob.activeDeadlineSeconds,
      ttlSecondsAfterFinished: s.schemaJob.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: meta.labels },
        spec: {
          restartPolicy: 'Never',
          ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
          ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
          securityContext: podSecurityContext,
          containers: [
            {
              name: 'migrate',
              image: s.image,
              imagePullPolicy: s.imagePullPolicy,
              args: MIGRATE_ARGS,
              env: [databaseEnv(cb), { name: 'LOG_LEVEL', value: s.logLevel }, { name: 'DATA_DIR', value: '/tmp/chat-backend' }],
              securityContext: containerSecurityContext,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

// 1000:1000 is the image's own user (USER in the Dockerfile), as in the chart's values.
export const podSecurityContext = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };
export const containerSecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } };
