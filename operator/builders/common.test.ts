// Names, labels, the owner reference and the security contexts every child shares.
import { describe, expect, it } from 'vitest';
import { childName, containerSecurityContext, labels, ownerReference, podSecurityContext, RUN_AS_USER, serverName } from './common.js';
import { buildDeployment } from './deployment.js';
import { buildSchemaJob } from './schema-job.js';
import { cb, config, digests } from './testing.js';

describe('common', () => {
  it('owns every child as its controller, so the garbage collector removes them with it', () => {
    expect(ownerReference(cb())).toEqual({ apiVersion: 'chatbackend.dev/v1alpha1', kind: 'ChatBackend', name: 'chat', uid: 'uid-1', controller: true, blockOwnerDeletion: true });
    const noUid = cb();
    delete noUid.metadata.uid;
    expect(() => ownerReference(noUid)).toThrow(/team\/chat has no uid/);
    expect(labels(cb(), 'server')).toEqual({ 'app.kubernetes.io/name': 'chat-backend', 'app.kubernetes.io/instance': 'chat', 'app.kubernetes.io/component': 'server', 'app.kubernetes.io/managed-by': 'chat-backend-operator' });
  });

  it('cuts names to a DNS label without a trailing dash', () => {
    const name = childName(`${'a'.repeat(40)}-${'b'.repeat(40)}`, 'schema-0123456789');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a+-b*-schema-0123456789$/);
    expect(childName(`${'a'.repeat(45)}-rest`, 'schema-0123456789')).toBe(`${'a'.repeat(45)}-schema-0123456789`);
    const long = cb();
    long.metadata.name = `${'x'.repeat(62)}-y`;
    expect(serverName(long)).toBe('x'.repeat(62));
  });

  it('runs the server and the schema Job as the same non-root user, read-only, without capabilities', () => {
    expect(podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: RUN_AS_USER, runAsGroup: RUN_AS_USER, fsGroup: RUN_AS_USER, seccompProfile: { type: 'RuntimeDefault' } });
    expect(containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } });
    const c = cb();
    const pods = [buildDeployment(c, config(c), digests(c)).spec!.template.spec!, buildSchemaJob(c, digests(c)).spec!.template.spec!];
    for (const pod of pods) {
      expect(pod.securityContext).toEqual(podSecurityContext);
      expect(pod.containers.map((ctr) => ctr.securityContext)).toEqual([containerSecurityContext]);
      // A read-only root needs a writable /tmp.
      expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });
});
