// A real Kubernetes control plane from locally built binaries, in the spirit of
// controller-runtime's envtest but with the controllers that make workloads progress:
// etcd, kube-apiserver (RBAC, its own CA, a per-run service-account key), the
// controller-manager (Deployments → ReplicaSets → Pods, Jobs, garbage collection), the
// scheduler, and kwok, which plays the kubelet for a few fake nodes so Pods become Ready and
// Job Pods complete. Everything listens on free 127.0.0.1 ports under a temporary directory.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ensureBinaries, required, type Binaries } from './binaries.js';
import { writeKubeconfig } from './kubeconfig.js';
import { createPki, type Pki } from './pki.js';
import { freePort } from './ports.js';
import { spawnManaged, type ManagedProcess } from './processes.js';
import { waitForHttpsOk } from './readiness.js';
import { createFakeNodes, waitForClusterUsable } from './fake-nodes.js';

export interface LocalControlPlane {
  kubeconfigPath: string;
  pki: Pki;
  bins: Binaries;
  kubeconfigText: string;
  serverUrl: string;
  runDir: string;
  /** Process groups of the running components (empty after stop). */
  processGroups(): number[];
  stop(): Promise<void>;
}

export interface LocalControlPlaneOptions {
  /** Fake kwok nodes to register (default 3). */
  nodes?: number;
  /** Keep the run directory (logs, certificates) after stop, for debugging. */
  keepRunDir?: boolean;
  /**
   * For a real kubelet (test/k8s/real-node): the node's address, on which the API server
   * binds and which it advertises, so that pods reach it through the `kubernetes` Service
   * (kept by the endpoint reconciler) and it reaches kubelets by their InternalIP. No kwok.
   */
  nodeAddress?: string;
}

const SERVICE_CIDR = '10.0.0.0/24';

export async function startLocalControlPlane(options: LocalControlPlaneOptions = {}): Promise<LocalControlPlane> {
  const bins = await ensureBinaries(options.nodeAddress ? ['kubernetes', 'etcd'] : ['kubernetes', 'etcd', 'kwok']);
  // A free port found here can be taken by another process before ours binds it (other test
  // workers start servers too); such a start is retried from scratch with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptStart(bins, options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function attemptStart(bins: Binaries, options: LocalControlPlaneOptions): Promise<LocalControlPlane> {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-k8s-'));
  const logs = path.join(runDir, 'logs');
  await mkdir(logs);
  const started: ManagedProcess[] = [];
  const stop = async () => {
    // Reverse order: clients of the API server first, etcd last.
    for (const p of started.reverse()) await p.stop();
    started.length = 0;
    if (!options.keepRunDir && !process.env.CHAT_BACKEND_K8S_KEEP) await rm(runDir, { recursive: true, force: true });
  };
  const launch = (name: string, bin: string, args: string[]) => {
    const p = spawnManaged(name, bin, args, path.join(logs, `${name}.log`));
    started.push(p);
    return p;
  };

  try {
    const node = options.nodeAddress;
    const pki = await createPki(runDir, node ? [node] : []);

    const etcdPort = await freePort();
    const etcdPeerPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = launch('etcd', required(bins, 'etcd'), [
      '--name=default',
      `--data-dir=${path.join(runDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      // Throwaway data: durability costs seconds per test file on a slow disk and buys nothing.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitForHttpsOk(`${etcdUrl}/health`, etcd, { timeoutMs: 60_000 });

    const apiPort = await freePort();
    const serverUrl = `https://${node ?? '127.0.0.1'}:${apiPort}`;
    const apiserver = launch('kube-apiserver', required(bins, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      ...(node
        ? [
            `--bind-address=${node}`,
            `--advertise-address=${node}`,
            '--kubelet-preferred-address-types=InternalIP',
            `--kubelet-client-certificate=${pki.kubeletClient.certPath}`,
            `--kubelet-client-key=${pki.kubeletClient.keyPath}`,
          ]
        : [
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            // The kubernetes Service's endpoint would be 127.0.0.1, which Endpoints reject;
            // nothing in-cluster talks to the API server through it here (kwok's pods are not real).
            '--endpoint-reconciler-type=none',
          ]),
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(runDir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.servingCertPath}`,
      `--tls-private-key-file=${pki.servingKeyPath}`,
      `--client-ca-file=${pki.caCertPath}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPubPath}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyPath}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--v=1',
    ]);

    const adminKubeconfigPath = path.join(runDir, 'kubeconfig');
    const kubeconfigText = await writeKubeconfig(adminKubeconfigPath, serverUrl, pki.caCertPath, pki.admin, 'kubernetes-admin');
    const tls = { ca: await readFile(pki.caCertPath), cert: await readFile(pki.admin.certPath), key: await readFile(pki.admin.keyPath) };
    // /readyz covers etcd, the RBAC bootstrap roles and the CRD/APIService controllers.
    await waitForHttpsOk(`${serverUrl}/readyz`, apiserver, { timeoutMs: 120_000, tls });

    const cmKubeconfig = path.join(runDir, 'controller-manager.kubeconfig');
    await writeKubeconfig(cmKubeconfig, serverUrl, pki.caCertPath, pki.controllerManager, 'system:kube-controller-manager');
    const cmPort = await freePort();
    const controllerManager = launch('kube-controller-manager', required(bins, 'kube-controller-manager'), [
      `--kubeconfig=${cmKubeconfig}`,
      `--authentication-kubeconfig=${cmKubeconfig}`,
      `--authorization-kubeconfig=${cmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKeyPath}`,
      `--root-ca-file=${pki.caCertPath}`,
      `--cluster-signing-cert-file=${pki.caCertPath}`,
      `--cluster-signing-key-file=${pki.caKeyPath}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--v=1',
    ]);

    const schedKubeconfig = path.join(runDir, 'scheduler.kubeconfig');
    await writeKubeconfig(schedKubeconfig, serverUrl, pki.caCertPath, pki.scheduler, 'system:kube-scheduler');
    const schedConfig = path.join(runDir, 'scheduler.yaml');
    await writeFile(
      schedConfig,
      YAML.stringify({
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig: schedKubeconfig },
        leaderElection: { leaderElect: false },
      }),
    );
    const schedPort = await freePort();
    const scheduler = launch('kube-scheduler', required(bins, 'kube-scheduler'), [
      `--config=${schedConfig}`,
      `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--v=1',
    ]);

    await waitForHttpsOk(`https://127.0.0.1:${cmPort}/healthz`, controllerManager, { timeoutMs: 60_000, tls: { insecure: true } });
    await waitForHttpsOk(`https://127.0.0.1:${schedPort}/healthz`, scheduler, { timeoutMs: 60_000, tls: { insecure: true } });
    const groups = () => started.map((p) => p.pid);
    const result = { kubeconfigPath: adminKubeconfigPath, kubeconfigText, serverUrl, runDir, pki, bins, stop, processGroups: groups };
    // A real node registers itself; the caller starts its kubelet.
    if (node) return result;

    const kwokConfig = path.join(runDir, 'kwok.yaml');
    await writeFile(kwokConfig, await kwokConfiguration(required(bins, 'kwok-stages')));
    const kwokPort = await freePort();
    const kwok = launch('kwok', required(bins, 'kwok'), [
      `--kubeconfig=${adminKubeconfigPath}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${kwokPort}`,
    ]);

    await waitForHttpsOk(`http://127.0.0.1:${kwokPort}/healthz`, kwok, { timeoutMs: 60_000 });

    await createFakeNodes(kubeconfigText, options.nodes ?? 3);
    await waitForClusterUsable(kubeconfigText, options.nodes ?? 3, [apiserver, controllerManager, scheduler, kwok], 120_000);

    const final = groups();
    return { ...result, processGroups: () => [...final] };
  } catch (err) {
    const tails = started.map((p) => `--- ${p.name} (pid ${p.pid}) ---\n${p.tail(15)}`).join('\n');
    await stop();
    throw new Error(`local control plane failed to start: ${(err as Error).message}\n${tails}`);
  }
}

/** kwok's own configuration plus the stages of the kwok release we built (see build.sh). */
async function kwokConfiguration(stagesDir: string): Promise<string> {
  const docs = [
    YAML.stringify({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokConfiguration',
      // Nodes keep a Lease like a kubelet does, so the node-lifecycle controller never marks
      // them unreachable and evicts the pods of a long test.
      // With a config file kwok takes these literally, so the defaults of kwokctl are restated.
      options: {
        nodeLeaseDurationSeconds: 40,
        nodeLeaseParallelism: 4,
        nodePlayStageParallelism: 4,
        podPlayStageParallelism: 4,
        podsOnNodeSyncParallelism: 4,
      },
    }),
  ];
  for (const file of (await readdir(stagesDir)).sort()) docs.push(await readFile(path.join(stagesDir, file), 'utf8'));
  return docs.join('\n---\n');
}
