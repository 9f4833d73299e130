// Runs `chat-backend operator` as a real child process against a test control plane, so that
// killing it, restarting it and running two of them are what they would be in a cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type ChatBackendStatus } from '../../operator/api.js';
import { repoRoot } from './harness/binaries.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/kube.js';

export interface OperatorProcess {
  name: string;
  child: ChildProcess;
  healthPort: number;
  metricsPort: number;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startOperator(kubeconfigPath: string, opts: { name: string; namespace: string; watch: string; leaseDurationS?: number; informerSilenceS?: number }): Promise<OperatorProcess> {
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'operator'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KUBECONFIG: kubeconfigPath,
      POD_NAME: opts.name,
      POD_NAMESPACE: opts.namespace,
      LOG_LEVEL: 'info',
      OPERATOR_WATCH_NAMESPACES: opts.watch,
      OPERATOR_LEADER_ELECT: 'true',
      OPERATOR_LEASE_NAMESPACE: opts.namespace,
      OPERATOR_LEASE_DURATION_S: String(opts.leaseDurationS ?? 6),
      OPERATOR_LEASE_RENEW_S: '1',
      OPERATOR_INFORMER_SILENCE_S: String(opts.informerSilenceS ?? 600),
      OPERATOR_HEALTH_PORT: String(healthPort),
      OPERATOR_METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // The whole log goes to test-results/ for a failed run; the tail stays in memory for assertions.
  mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
  const file = createWriteStream(path.join(repoRoot, 'test-results', `operator-${opts.name}-${process.pid}-${Date.now()}.log`));
  const keep = (b: Buffer) => {
    file.write(b);
    out = (out + b.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', () => file.end());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(`operator ${opts.name} /healthz`, 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}: ${out}`);
    const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    return res.ok;
  });
  return {
    name: opts.name,
    child,
    healthPort,
    metricsPort,
    output: () => out,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export type ChatBackendObject = { metadata: { name: string; generation?: number }; spec: Record<string, unknown>; status?: ChatBackendStatus };

export function chatBackends(kc: KubeConfig, namespace: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version: VERSION, namespace, plural: PLURAL };
  return {
    create: (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) =>
      api.createNamespacedCustomObject({ ...base, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ChatBackend', metadata: { name, annotations }, spec } }),
    get: async (name: string) => (await api.getNamespacedCustomObject({ ...base, name })) as ChatBackendObject,
    /** JSON merge patch (null deletes). */
    /** JSON merge patch (null deletes); client-node 1.x would otherwise send a JSON Patch. */
    patch: (name: string, body: Record<string, unknown>) =>
      api.patchNamespacedCustomObject({ ...base, name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    delete: (name: string) => api.deleteNamespacedCustomObject({ ...base, name }),
    condition: async (name: string, type: string) => (await api.getNamespacedCustomObject({ ...base, name }) as ChatBackendObject).status?.conditions?.find((c) => c.type === type),
  };
}

export async function events(kc: KubeConfig, namespace: string, name: string): Promise<{ type?: string; reason?: string; message?: string }[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},involvedObject.kind=ChatBackend` });
  return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
}

/**
 * Writes a kubeconfig for a ServiceAccount (a token from the TokenRequest API), so the operator
 * runs under the chart's RBAC rather than as cluster admin. `server` (host:port) reaches the
 * API server another way, e.g. through a proxy; the certificate is still checked against the
 * API server's own name.
 */
export async function writeServiceAccountKubeconfig(admin: KubeConfig, opts: { namespace: string; serviceAccount: string; file: string; server?: string }): Promise<void> {
  const res = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: opts.serviceAccount,
    namespace: opts.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !res.status?.token) throw new Error('no current cluster or no token');
  const original = new URL(cluster.server);
  const hostname = original.hostname.replace(/^\[|\]$/g, '');
  const proxied = opts.server === undefined ? {} : { server: `${original.protocol}//${opts.server}`, tlsServerName: cluster.tlsServerName ?? (isIP(hostname) ? undefined : hostname) };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'cluster', ...proxied }],
    users: [{ name: opts.serviceAccount, token: res.status.token }],
    contexts: [{ name: 'sa', cluster: 'cluster', user: opts.serviceAccount }],
    currentContext: 'sa',
  });
  await writeFile(opts.file, kc.exportConfig(), { mode: 0o600 });
}
