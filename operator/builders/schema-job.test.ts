// The schema Job: its name and hash, and what makes it run again.
import { describe, expect, it } from 'vitest';
import { ownerReference } from './common.js';
import { buildSchemaJob, schemaHash, schemaJobName } from './schema-job.js';
import { cb, digests } from './testing.js';

describe('schema Job', () => {
  it('is named by the image and migration spec, runs migrate once, and is owned', () => {
    const c = cb();
    const job = buildSchemaJob(c, digests(c));
    expect(job.metadata?.name).toBe(schemaJobName(c, digests(c)));
    expect(job.metadata?.name).toMatch(/^chat-schema-[0-9a-f]{10}$/);
    expect(job.metadata?.ownerReferences).toEqual([ownerReference(c)]);
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 86400 });
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers[0]!.args).toEqual(['migrate']);
    expect(pod.containers[0]!.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.name).toBe('db');
    const d = digests(c);
    expect(schemaHash(cb({ image: 'chat-backend:2' }), d)).not.toBe(schemaHash(c, d));
    expect(schemaHash(cb({ replicas: 5, logLevel: 'debug' }), d)).toBe(schemaHash(c, d));
  });

  it('runs again for a new database URL value, not for a new JWT or LLM key', () => {
    const c = cb({ llm: { apiKeySecretRef: { name: 'llm' } } });
    expect(schemaHash(c, digests(c, { db: 'postgres://other-host/db' }))).not.toBe(schemaHash(c, digests(c)));
    expect(schemaHash(c, digests(c, { jwt: 'rotated', llm: 'rotated' }))).toBe(schemaHash(c, digests(c)));
  });

  it('keeps long names within 63 characters', () => {
    const c = cb();
    c.metadata.name = 'a'.repeat(80);
    expect(schemaJobName(c, digests(c)).length).toBeLessThanOrEqual(63);
  });
});
