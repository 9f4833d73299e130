// spec.bus: validated by zod like the CEL rules, rendered into env the server's own config
// accepts, Secret references as secretKeyRefs or mounted files, and counted among the
// Secrets whose change rolls the pods.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ChatBackendSchema, ChatBackendSpecStrictSchema, type ChatBackend } from '../api.js';
import { invalidCases, minimalSpec } from '../../test/k8s/fixtures/chatbackends.js';
import { renderConfig } from './config.js';
import { buildDeployment } from './deployment.js';
import { secretDigests, secretUses } from './secrets.js';

function cb(bus: Record<string, unknown>): ChatBackend {
  return ChatBackendSchema.parse({
    apiVersion: 'chatbackend.dev/v1alpha1',
    kind: 'ChatBackend',
    metadata: { name: 'chat', namespace: 'team', uid: 'uid-1' },
    spec: { ...minimalSpec, bus },
  });
}

const envOf = (c: ChatBackend) => {
  const r = renderConfig(c);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
};

describe('spec.bus', () => {
  it('defaults to the PostgreSQL bus, which needs nothing else', () => {
    const c = cb({});
    expect(c.spec.bus).toEqual({ type: 'postgres' });
    const env = new Map(envOf(c).env.map((e) => [e.name, e]));
    expect(env.get('BUS')?.value).toBe('postgres');
    expect([...env.keys()].filter((k) => k.startsWith('NATS_'))).toEqual([]);
  });

  it('renders NATS with a password from a Secret, and TLS material as mounted files the env names', () => {
    const c = cb({ type: 'nats', url: 'tls://nats.nats.svc:4222', user: 'chat', passwordSecretRef: { name: 'nats-auth' }, tlsCASecretRef: { name: 'nats-ca' }, tlsClientSecretName: 'nats-client', subjectPrefix: 'team.chat' });
    const rendered = envOf(c);
    const env = new Map(rendered.env.map((e) => [e.name, e]));
    expect(env.get('BUS')?.value).toBe('nats');
    expect(env.get('NATS_URL')?.value).toBe('tls://nats.nats.svc:4222');
    expect(env.get('NATS_SUBJECT_PREFIX')?.value).toBe('team.chat');
    expect(env.get('NATS_USER')?.value).toBe('chat');
    expect(env.get('NATS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'nats-auth', key: 'password' });
    expect(env.get('NATS_PASSWORD')?.value).toBeUndefined();
    const pod = buildDeployment(c, rendered, secretDigests(c, [])).spec!.template.spec!;
    const mounts = pod.containers[0]!.volumeMounts!;
    const ca = env.get('NATS_TLS_CA')!.value!;
    const cert = env.get('NATS_TLS_CERT')!.value!;
    expect(mounts.some((m) => ca.startsWith(`${m.mountPath}/`))).toBe(true);
    expect(mounts.some((m) => cert.startsWith(`${m.mountPath}/`))).toBe(true);
    expect(pod.volumes!.find((v) => v.name === 'nats-tls-client')?.secret).toMatchObject({ secretName: 'nats-client', items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] });
    expect(pod.volumes!.find((v) => v.name === 'nats-tls-ca')?.secret).toMatchObject({ secretName: 'nats-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    // what the pod would see, secrets replaced by placeholders, is a valid server config
    const plain = Object.fromEntries(rendered.env.map((e) => [e.name, e.value ?? 'placeholder']));
    const parsed = parseConfig({ ...plain, DATABASE_URL: 'postgres://x@h/db', JWT_SECRET: 'x'.repeat(32) });
    expect(parsed.ok ? parsed.config.bus : parsed.errors).toMatchObject({ kind: 'nats', nats: { servers: ['tls://nats.nats.svc:4222'], user: 'chat', password: { value: 'placeholder' } } });
  });

  it('mounts a .creds file and lists every bus Secret, so a changed one rolls the pods', () => {
    const c = cb({ type: 'nats', url: 'nats://nats:4222', credsSecretRef: { name: 'nats-creds' } });
    const rendered = envOf(c);
    const creds = rendered.env.find((e) => e.name === 'NATS_CREDS_FILE')!.value!;
    const pod = buildDeployment(c, rendered, secretDigests(c, [])).spec!.template.spec!;
    expect(pod.volumes!.find((v) => v.name === 'nats-creds')?.secret).toMatchObject({ secretName: 'nats-creds', items: [{ key: 'nats.creds', path: 'user.creds' }] });
    expect(creds.endsWith('/nats-creds/user.creds')).toBe(true);
    const uses = secretUses(c.spec);
    expect(uses).toContainEqual({ field: 'spec.bus.credsSecretRef', name: 'nats-creds', key: 'nats.creds' });
    const before = secretDigests(c, uses.map((u) => ({ ...u, value: 'a' })));
    const after = secretDigests(c, uses.map((u) => ({ ...u, value: u.name === 'nats-creds' ? 'b' : 'a' })));
    expect(after.all).not.toBe(before.all);
    expect(after.database).toBe(before.database); // the schema Job does not rerun for it
  });

  it('rejects with zod what the CRD rejects with CEL, naming the field', () => {
    const busCases = invalidCases.filter((c) => c.name.includes('nats'));
    expect(busCases.length).toBeGreaterThanOrEqual(4);
    for (const bad of busCases) {
      const r = ChatBackendSpecStrictSchema.safeParse(bad.spec);
      expect(r.success, bad.name).toBe(false);
      const text = r.error!.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('\n');
      expect(text, bad.name).toContain(bad.expect[0]!.replace(/: Required value$/, ''));
    }
  });
});
