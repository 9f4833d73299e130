// The real-node suite's workloads: PostgreSQL as a StatefulSet from the local Debian image
// (data on a hostPath PersistentVolume, so it survives the pod), the Secrets a ChatBackend
// references, the helm install of the operator chart and the ChatBackend itself.
import { chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { API_VERSION, KIND } from '../../../operator/api.js';
import { chartDir, helm } from '../harness/helm.js';
import { AUDIENCE, ISSUER, SECRET } from '../../helpers/tokens.js';
import type { RealCluster } from './cluster.js';

export const APP_NS = 'chat';
export const OPERATOR_NS = 'chat-system';
export const PG_PASSWORD = 'real-node-pg-password';
/** uid/gid of `postgres` in the Debian image (tools/image/build-image.sh). */
const PG_UID = 100;
const PG_GID = 102;

export const databaseUrl = `postgres://postgres:${PG_PASSWORD}@chat-pg.${APP_NS}.svc.cluster.local:5432/postgres`;

const PG_START = `set -eu
D=/var/lib/postgresql/data/pgdata
if [ ! -s "$D/PG_VERSION" ]; then
  printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pw
  initdb -D "$D" -U postgres --pwfile=/tmp/pw --auth=scram-sha-256 -E UTF8 --locale=C
  echo "host all all all scram-sha-256" >> "$D/pg_hba.conf"
fi
exec postgres -D "$D" -c listen_addresses='*' -c unix_socket_directories=/tmp -c max_connections=200`;

export async function deployPostgres(cluster: RealCluster, image: string): Promise<void> {
  const data = path.join(cluster.dirs.runDir, 'pg-volume');
  await mkdir(data, { recursive: true });
  await chown(data, PG_UID, PG_GID);
  const docs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NS } },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'chat-pg-data' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', hostPath: { path: data, type: 'Directory' }, persistentVolumeReclaimPolicy: 'Retain' },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chat-pg', namespace: APP_NS }, stringData: { password: PG_PASSWORD } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'chat-pg', namespace: APP_NS },
      spec: { selector: { app: 'chat-pg' }, ports: [{ name: 'pg', port: 5432, targetPort: 5432 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'chat-pg', namespace: APP_NS },
      spec: {
        serviceName: 'chat-pg',
        replicas: 1,
        selector: { matchLabels: { app: 'chat-pg' } },
        template: {
          metadata: { labels: { app: 'chat-pg' } },
          spec: {
            terminationGracePeriodSeconds: 10,
            securityContext: { runAsNonRoot: true, runAsUser: PG_UID, runAsGroup: PG_GID },
            containers: [
              {
                name: 'postgres',
                image,
                imagePullPolicy: 'Never',
                command: ['bash', '-c', PG_START],
                env: [{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'chat-pg', key: 'password' } } }],
                ports: [{ containerPort: 5432, name: 'pg' }],
                readinessProbe: { exec: { command: ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres'] }, periodSeconds: 2 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                ],
              },
            ],
            volumes: [
              { name: 'tmp', emptyDir: {} },
              { name: 'run', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'manual', resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chat-db', namespace: APP_NS }, stringData: { url: databaseUrl } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chat-jwt', namespace: APP_NS }, stringData: { secret: SECRET } },
  ];
  await cluster.kubectl(['apply', '-f', '-'], docs.map((d) => YAML.stringify(d)).join('---\n'));
  await cluster.kubectl(['-n', APP_NS, 'rollout', 'status', 'statefulset/chat-pg', '--timeout=300s']);
}

export async function helmInstallOperator(cluster: RealCluster, repository: string, tag: string): Promise<void> {
  const r = await helm(
    [
      'install', 'chat-operator', chartDir,
      '--namespace', OPERATOR_NS, '--create-namespace',
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set', 'replicaCount=2',
      '--wait', '--timeout', '5m',
    ],
    cluster.kubeconfigPath,
  );
  if (r.code !== 0) throw new Error(`helm install failed (${r.code}): ${r.stderr}`);
}

export function chatBackendManifest(image: string, extra: Record<string, unknown> = {}): string {
  return YAML.stringify({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'chat', namespace: APP_NS },
    spec: {
      image,
      imagePullPolicy: 'Never',
      replicas: 2,
      database: { secretRef: { name: 'chat-db' } },
      auth: { jwtSecretRef: { name: 'chat-jwt' }, issuer: ISSUER, audience: AUDIENCE },
      ...extra,
    },
  });
}
