// A one-node Kubernetes cluster that runs real containers: the local control plane bound on
// the node address, containerd + runc, a kubelet, kube-proxy (Service IPs) and CoreDNS
// (Service names), with the project's images imported into containerd (no registry).
// stop() tears down everything: pods' processes, mounts, network namespaces, iptables chains,
// the node address, sysctls and cgroups; it reports what it could not undo.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureBinaries, required, type Binaries } from '../harness/binaries.js';
import { waitFor } from '../harness/kube.js';
import { startLocalControlPlane, type LocalControlPlane } from '../harness/local-control-plane.js';
import type { ManagedProcess } from '../harness/processes.js';
import { waitForHttpsOk } from '../harness/readiness.js';
import { prepareHost, unmountBelow, type HostChanges } from './host.js';
import type { BuiltImages } from './images.js';
import { containerdSocket, ctr, NODE_NAME, startContainerd, startCoreDns, startKubelet, startKubeProxy, type NodeDirs } from './node-components.js';

const run = promisify(execFile);

// Overridable for a machine where this range is taken.
export const NODE_ADDRESS = process.env.CHAT_BACKEND_NODE_ADDRESS ?? '10.213.7.1';

export interface RealCluster {
  cp: LocalControlPlane;
  kc: KubeConfig;
  kubeconfigPath: string;
  bins: Binaries;
  nodeAddress: string;
  dirs: NodeDirs;
  /** Imports another image archive into the node's containerd. */
  importImage(archive: string): Promise<void>;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Seconds each phase of the start took. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

export async function startRealCluster(images: BuiltImages): Promise<RealCluster> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (name: string) => {
    timings[name] = Math.round((Date.now() - t) / 100) / 10;
    t = Date.now();
  };
  const nodeBins = await ensureBinaries(['kube-node', 'coredns', 'helm']);
  lap('binaries');
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-node-'));
  const dirs: NodeDirs = { runDir, logs: path.join(runDir, 'logs') };
  await mkdir(dirs.logs);
  const procs: ManagedProcess[] = [];
  let host: HostChanges | undefined;
  let cp: LocalControlPlane | undefined;

  const stop = async () => {
    const problems: string[] = [];
    const byName = (n: string) => procs.find((p) => p.name === n);
    for (const n of ['coredns', 'kube-proxy', 'kubelet']) await byName(n)?.stop();
    if (byName('kube-proxy')) await run(required(nodeBins, 'kube-proxy'), ['--cleanup']).catch((e: Error) => problems.push(`kube-proxy --cleanup: ${e.message}`));
    if (byName('containerd')) {
      await killContainers(dirs).catch((e: Error) => problems.push(`containers: ${e.message}`));
      await byName('containerd')!.stop();
      await killShims(dirs).catch((e: Error) => problems.push(`shims: ${e.message}`));
    }
    await unmountBelow(runDir).catch((e: Error) => problems.push(`mounts: ${e.message}`));
    await cp?.stop();
    if (host) problems.push(...(await host.restore()));
    if (!process.env.CHAT_BACKEND_K8S_KEEP) await rm(runDir, { recursive: true, force: true }).catch((e: Error) => problems.push(`run dir: ${e.message}`));
    if (problems.length) throw new Error(`real-node teardown left: ${problems.join('; ')}`);
  };

  try {
    host = await prepareHost(NODE_ADDRESS);
    cp = await startLocalControlPlane({ nodeAddress: NODE_ADDRESS });
    lap('control plane');
    const bins = { ...cp.bins, ...nodeBins };
    const containerd = await startContainerd(dirs, images.pauseImage);
    procs.push(containerd);
    await waitFor('containerd', 30_000, async () => ctr(dirs, ['version'], 5_000).then(() => true));
    for (const archive of [images.pause, images.pg, images.app]) await ctr(dirs, ['images', 'import', archive]);
    lap('containerd + images');

    const kubelet = await startKubelet(dirs, cp, required(bins, 'kubelet'), NODE_ADDRESS);
    procs.push(kubelet.proc);
    const proxy = await startKubeProxy(dirs, cp, required(bins, 'kube-proxy'));
    procs.push(proxy.proc);
    const dns = await startCoreDns(dirs, cp, required(bins, 'coredns'), NODE_ADDRESS);
    procs.push(dns.proc);
    await waitForHttpsOk(kubelet.healthz, kubelet.proc, { timeoutMs: 120_000 });
    await waitForHttpsOk(proxy.healthz, proxy.proc, { timeoutMs: 60_000 });
    await waitForHttpsOk(dns.ready, dns.proc, { timeoutMs: 60_000 });

    const kc = new KubeConfig();
    kc.loadFromString(cp.kubeconfigText);
    const core = kc.makeApiClient(CoreV1Api);
    const dead: string[] = [];
    for (const p of procs) void p.exited.then(() => dead.push(`${p.name} exited:\n${p.tail(20)}`));
    await waitFor(`node ${NODE_NAME} Ready and the default ServiceAccount`, 180_000, async () => {
      if (dead.length) throw new Error(dead.join('\n'));
      const node = await core.readNode({ name: NODE_NAME });
      const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      const tainted = (node.spec?.taints ?? []).some((x) => x.effect === 'NoSchedule' || x.effect === 'NoExecute');
      const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(() => true, () => false);
      return ready && !tainted && sa;
    });
    lap('node ready');
    const kubeconfigPath = cp.kubeconfigPath;
    return {
      cp,
      kc,
      kubeconfigPath,
      bins,
      nodeAddress: NODE_ADDRESS,
      dirs,
      timings,
      importImage: async (archive) => void (await ctr(dirs, ['images', 'import', archive])),
      kubectl: (args, input) => kubectl(required(bins, 'kubectl'), kubeconfigPath, args, input),
      stop,
    };
  } catch (err) {
    const tails = procs.map((p) => `--- ${p.name} ---\n${p.tail(25)}`).join('\n');
    await stop().catch((e: Error) => console.error(e.message));
    throw new Error(`real node failed to start: ${(err as Error).message}\n${tails}`);
  }
}

function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, [`--kubeconfig=${kubeconfig}`, ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 10 * 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin!.end(input ?? '');
  });
}

/** Every container and sandbox the kubelet left, killed and removed through containerd. */
async function killContainers(d: NodeDirs): Promise<void> {
  const ids = (await ctr(d, ['tasks', 'ls', '-q'], 30_000)).split('\n').filter(Boolean);
  for (const id of ids) await ctr(d, ['tasks', 'kill', '-s', 'SIGKILL', id], 30_000).catch(() => undefined); // it may have exited meanwhile
  await waitFor('containers killed', 30_000, async () => {
    const left = (await ctr(d, ['tasks', 'ls'], 30_000)).split('\n').slice(1).filter((l) => l.includes('RUNNING'));
    return left.length === 0;
  });
  for (const id of ids) await ctr(d, ['tasks', 'delete', id], 30_000).catch(() => undefined); // already deleted with its sandbox
}

/** containerd-shim processes of this containerd (they outlive it by design): found by our socket. */
async function killShims(d: NodeDirs): Promise<void> {
  const sock = containerdSocket(d);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('containerd-shim') && cmd.includes(sock)) process.kill(Number(pid), 'SIGKILL');
  }
}
