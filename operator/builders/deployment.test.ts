// The server Deployment: probes, drain, hashes that roll the pods, replicas and spread.
import { describe, expect, it } from 'vitest';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_SECRET_HASH, LABEL_SCHEMA_HASH } from './common.js';
import { PRE_STOP_SECONDS, SHUTDOWN_GRACE_SECONDS } from './config.js';
import { buildDeployment, TERMINATION_GRACE_SECONDS } from './deployment.js';
import { cb, config, digests } from './testing.js';

describe('Deployment', () => {
  it('wires probes, drain, metrics, config hash, resources and spread', () => {
    const c = cb({ replicas: 3 });
    const d = buildDeployment(c, config(c), digests(c));
    expect(d.metadata?.labels).toMatchObject({ 'app.kubernetes.io/instance': 'chat', 'app.kubernetes.io/managed-by': 'chat-backend-operator' });
    expect(d.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ChatBackend', name: 'chat', uid: 'uid-1', controller: true });
    expect(d.spec?.replicas).toBe(3);
    const tpl = d.spec!.template;
    expect(tpl.metadata?.annotations?.[ANNOTATION_CONFIG_HASH]).toBe(config(c).hash);
    expect(tpl.metadata?.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
    const ctr = tpl.spec!.containers[0]!;
    expect(ctr.readinessProbe?.httpGet?.path).toBe('/health/full');
    expect(ctr.livenessProbe?.httpGet?.path).toBe('/health');
    expect(ctr.lifecycle?.preStop?.sleep?.seconds).toBe(PRE_STOP_SECONDS);
    expect(tpl.spec!.terminationGracePeriodSeconds).toBe(TERMINATION_GRACE_SECONDS);
    expect(TERMINATION_GRACE_SECONDS).toBeGreaterThan(PRE_STOP_SECONDS + SHUTDOWN_GRACE_SECONDS);
    expect(ctr.ports?.map((p) => p.containerPort)).toEqual([8000, 9464]);
    expect(ctr.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(tpl.spec!.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(d.spec!.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'chat-backend', 'app.kubernetes.io/instance': 'chat' });
  });

  it('carries the Secret digest in the pod template, so a new value of any referenced key rolls the pods', () => {
    const c = cb({ llm: { apiKeySecretRef: { name: 'llm' } } });
    const template = (o: Record<string, string> = {}) => buildDeployment(c, config(c), digests(c, o)).spec!.template;
    const before = template();
    expect(before.metadata?.annotations?.[ANNOTATION_SECRET_HASH]).toBe(digests(c).all);
    for (const name of ['db', 'jwt', 'llm']) {
      const after = template({ [name]: 'rotated' });
      expect(after.metadata?.annotations?.[ANNOTATION_SECRET_HASH], name).not.toBe(before.metadata?.annotations?.[ANNOTATION_SECRET_HASH]);
      expect({ ...after, metadata: undefined }, `only the annotations change for ${name}`).toEqual({ ...before, metadata: undefined });
    }
    // The database value is also part of the schema hash; the JWT key is not.
    expect(template({ jwt: 'rotated' }).metadata?.annotations?.[LABEL_SCHEMA_HASH]).toBe(before.metadata?.annotations?.[LABEL_SCHEMA_HASH]);
    expect(template({ db: 'rotated' }).metadata?.annotations?.[LABEL_SCHEMA_HASH]).not.toBe(before.metadata?.annotations?.[LABEL_SCHEMA_HASH]);
    expect(JSON.stringify(template({ jwt: 'the-real-jwt-secret' }))).not.toContain('the-real-jwt-secret');
  });

  it('leaves replicas to the autoscaler when it is on', () => {
    const c = cb({ autoscaling: { enabled: true } });
    expect(buildDeployment(c, config(c), digests(c)).spec?.replicas).toBeUndefined();
  });
});
