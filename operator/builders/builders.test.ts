// The desired-state builders are pure: each is checked here from a ChatBackend alone.
import { describe, expect, it } from 'vitest';
import { ChatBackendSchema, type ChatBackend } from '../api.js';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_SECRET_HASH, LABEL_SCHEMA_HASH, ownerReference } from './common.js';
import { renderConfig, PRE_STOP_SECONDS, SHUTDOWN_GRACE_SECONDS } from './config.js';
import { buildDeployment, TERMINATION_GRACE_SECONDS } from './deployment.js';
import { buildHpa, buildIngress, buildPdb, buildServiceMonitor, SCALE_DOWN_STABILIZATION_SECONDS } from './optional.js';
import { buildSchemaJob, schemaHash, schemaJobName } from './schema-job.js';
import { secretDigests, secretUses, type SecretDigests } from './secrets.js';
import { buildService, serviceUrl } from './service.js';

function cb(spec: Record<string, unknown> = {}): ChatBackend {
  return ChatBackendSchema.parse({
    apiVersion: 'chatbackend.dev/v1alpha1',
    kind: 'ChatBackend',
    metadata: { name: 'chat', namespace: 'team', uid: 'uid-1', generation: 3 },
    spec: { image: 'chat-backend:1', database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...spec },
  });
}

/** Digests of the referenced Secrets with one value each, `override` replacing some by Secret name. */
function digests(c: ChatBackend, override: Record<string, string> = {}): SecretDigests {
  return secretDigests(c, secretUses(c.spec).map((u) => ({ ...u, value: override[u.name] ?? `value-of-${u.name}` })));
}

function config(c: ChatBackend) {
  const r = renderConfig(c);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

describe('config', () => {
  it('renders env validated by the server schema, secrets as secretKeyRefs', () => {
    const { env } = config(cb({ auth: { jwtSecretRef: { name: 'jwt' }, issuer: 'iss', allowedOrigins: ['https://app.example.com'] } }));
    const byName = new Map(env.map((e) => [e.name, e]));
    expect(byName.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'url' });
    expect(byName.get('JWT_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'jwt', key: 'secret' });
    expect(byName.get('MIGRATE_ON_START')?.value).toBe('false');
    expect(byName.get('ALLOWED_ORIGINS')?.value).toBe('https://app.example.com');
    expect(byName.get('JWT_ISSUER')?.value).toBe('iss');
  });

  it('reports what the server would reject, and env that shadows a secret', () => {
    const bad = renderConfig(cb({ auth: { jwtSecretRef: { name: 'jwt' }, allowedOrigins: ['not an origin'] } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.join()).toContain('ALLOWED_ORIGINS');
    const shadow = renderConfig(cb({ env: [{ name: 'DATABASE_URL', value: 'postgres://x' }] }));
    expect(shadow.ok).toBe(false);
  });

  it('changes its hash with the config and not otherwise', () => {
    expect(config(cb()).hash).toBe(config(cb()).hash);
    expect(config(cb({ logLevel: 'debug' })).hash).not.toBe(config(cb()).hash);
  });
});

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

describe('Service and optional children', () => {
  it('builds the Service and its URL', () => {
    const c = cb();
    expect(buildService(c).spec?.ports?.map((p) => p.name)).toEqual(['http', 'metrics']);
    expect(serviceUrl(c)).toBe('http://chat.team.svc:80');
  });

  it('builds optional children only when on', () => {
    const off = cb({ podDisruptionBudget: { enabled: false } });
    expect([buildIngress(off), buildPdb(off), buildHpa(off), buildServiceMonitor(off)]).toEqual([undefined, undefined, undefined, undefined]);
    const on = cb({
      ingress: { enabled: true, host: 'chat.example.com', tlsSecretName: 'tls', className: 'nginx' },
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5 },
      metrics: { serviceMonitor: { enabled: true } },
    });
    const ing = buildIngress(on)!;
    expect(ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(ing.spec?.tls).toEqual([{ hosts: ['chat.example.com'], secretName: 'tls' }]);
    expect(serviceUrl(on)).toBe('https://chat.example.com');
    expect(buildPdb(on)?.spec?.maxUnavailable).toBe(1);
    expect(buildHpa(on)?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
    expect(buildServiceMonitor(on)?.spec).toMatchObject({ endpoints: [{ port: 'metrics', interval: '30s' }] });
  });

  it('builds an autoscaling/v2 HPA on CPU, memory when asked, scaling down slowly', () => {
    const cpu = buildHpa(cb({ autoscaling: { enabled: true, targetCPUUtilizationPercentage: 60 } }))!;
    expect(cpu.apiVersion).toBe('autoscaling/v2');
    expect(cpu.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat' });
    expect(cpu.spec?.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }]);
    const both = buildHpa(cb({ autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 } }))!;
    expect(both.spec?.metrics?.map((m) => [m.resource?.name, m.resource?.target.averageUtilization])).toEqual([['cpu', 70], ['memory', 80]]);
    // Longer than the HPA's own 300 s default, and at most one pod or 10 % every two minutes.
    const down = cpu.spec?.behavior?.scaleDown;
    expect(down?.stabilizationWindowSeconds).toBe(SCALE_DOWN_STABILIZATION_SECONDS);
    expect(SCALE_DOWN_STABILIZATION_SECONDS).toBeGreaterThan(300);
    expect(down?.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 120 }, { type: 'Percent', value: 10, periodSeconds: 120 }]);
    expect(cpu.spec?.behavior?.scaleUp?.stabilizationWindowSeconds).toBe(0);
  });

  it('refuses a memory target without a memory request', () => {
    expect(() => cb({ resources: { requests: { cpu: '100m' } }, autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 } })).toThrow(/resources.requests.memory is required/);
    expect(() => cb({ resources: { requests: { cpu: '100m' } }, autoscaling: { enabled: false, targetMemoryUtilizationPercentage: 80 } })).not.toThrow();
  });
});
