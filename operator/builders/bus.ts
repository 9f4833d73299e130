// The bus part of the server pod: NATS settings as env, passwords and tokens as
// secretKeyRefs, and the file-shaped secrets (a .creds file, TLS material) as Secret
// volumes whose paths the env names. The server re-reads credential files at each
// reconnect, and the Secret digest in the pod template rolls the pods when they change.
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ChatBackendSpec } from '../api.js';

export const NATS_SECRETS_DIR = '/etc/chat-backend/nats';

export interface BusPod {
  plain: Record<string, string>;
  secrets: V1EnvVar[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}

export function busPod(spec: ChatBackendSpec): BusPod {
  const b = spec.bus;
  const out: BusPod = { plain: { BUS: b.type }, secrets: [], volumes: [], mounts: [] };
  if (b.type !== 'nats') return out;
  if (b.url !== undefined) out.plain.NATS_URL = b.url;
  if (b.subjectPrefix !== undefined) out.plain.NATS_SUBJECT_PREFIX = b.subjectPrefix;
  const file = (volume: string, secretName: string, items: { key: string; path: string }[]) => {
    out.volumes.push({ name: volume, secret: { secretName, items, defaultMode: 0o440 } });
    out.mounts.push({ name: volume, mountPath: `${NATS_SECRETS_DIR}/${volume}`, readOnly: true });
    return items.map((i) => `${NATS_SECRETS_DIR}/${volume}/${i.path}`);
  };
  if (b.credsSecretRef !== undefined) out.plain.NATS_CREDS_FILE = file('nats-creds', b.credsSecretRef.name, [{ key: b.credsSecretRef.key, path: 'user.creds' }])[0]!;
  if (b.tokenSecretRef !== undefined) out.secrets.push({ name: 'NATS_TOKEN', valueFrom: { secretKeyRef: { name: b.tokenSecretRef.name, key: b.tokenSecretRef.key } } });
  if (b.user !== undefined) out.plain.NATS_USER = b.user;
  if (b.passwordSecretRef !== undefined) out.secrets.push({ name: 'NATS_PASSWORD', valueFrom: { secretKeyRef: { name: b.passwordSecretRef.name, key: b.passwordSecretRef.key } } });
  if (b.tlsCASecretRef !== undefined) out.plain.NATS_TLS_CA = file('nats-tls-ca', b.tlsCASecretRef.name, [{ key: b.tlsCASecretRef.key, path: 'ca.crt' }])[0]!;
  if (b.tlsClientSecretName !== undefined) {
    const [cert, key] = file('nats-tls-client', b.tlsClientSecretName, [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }]);
    out.plain.NATS_TLS_CERT = cert!;
    out.plain.NATS_TLS_KEY = key!;
  }
  return out;
}

// The Secrets the bus references, for existence checks and the rollout digest.
export function busSecretUses(spec: ChatBackendSpec): { field: string; name: string; key: string }[] {
  const b = spec.bus;
  const uses: { field: string; name: string; key: string }[] = [];
  if (b.credsSecretRef) uses.push({ field: 'spec.bus.credsSecretRef', ...b.credsSecretRef });
  if (b.tokenSecretRef) uses.push({ field: 'spec.bus.tokenSecretRef', ...b.tokenSecretRef });
  if (b.passwordSecretRef) uses.push({ field: 'spec.bus.passwordSecretRef', ...b.passwordSecretRef });
  if (b.tlsCASecretRef) uses.push({ field: 'spec.bus.tlsCASecretRef', ...b.tlsCASecretRef });
  if (b.tlsClientSecretName) {
    uses.push({ field: 'spec.bus.tlsClientSecretName', name: b.tlsClientSecretName, key: 'tls.crt' });
    uses.push({ field: 'spec.bus.tlsClientSecretName', name: b.tlsClientSecretName, key: 'tls.key' });
  }
  return uses;
}
