// The node's own processes, configured through files in the run directory: containerd (the
// CRI runtime, with runc), the kubelet, kube-proxy and CoreDNS (cluster DNS on the node
// address). Settings that this machine forces are explained where they are set.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { writeKubeconfig } from '../harness/kubeconfig.js';
import type { LocalControlPlane } from '../harness/local-control-plane.js';
import { freePort } from '../harness/ports.js';
import { spawnManaged, type ManagedProcess } from '../harness/processes.js';

const run = promisify(execFile);

export const NODE_NAME = 'real-node';
export const POD_CIDR = '10.214.0.0/24';
export const CLUSTER_DOMAIN = 'cluster.local';

export interface NodeDirs {
  runDir: string;
  logs: string;
}

export function containerdSocket(d: NodeDirs): string {
  return path.join(d.runDir, 'containerd', 'containerd.sock');
}

export async function startContainerd(d: NodeDirs, pauseImage: string): Promise<ManagedProcess> {
  const base = path.join(d.runDir, 'containerd');
  await mkdir(path.join(base, 'cni'), { recursive: true });
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const config = `version = 2
root = "${base}/root"
state = "${base}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${containerdSocket(d)}"
[ttrpc]
  address = "${containerdSocket(d)}.ttrpc"
[${cri}]
  sandbox_image = "${pauseImage}"
  # Without CAP_SYS_RESOURCE here, runc cannot lower a container's oom_score_adj below ours.
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        # cgroupfs, like the kubelet: there is no systemd to delegate cgroups to.
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${base}/cni"
`;
  await writeFile(path.join(base, 'config.toml'), config);
  // ptp: one veth per pod with a host route to it, so pod traffic is routed (and kube-proxy's
  // iptables rules see it) without a bridge or br_netfilter.
  await writeFile(
    path.join(base, 'cni', '10-chat-backend.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'chat-backend-test',
      plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(base, 'ipam') } }, { type: 'loopback' }],
    }),
  );
  return spawnManaged('containerd', 'containerd', ['--config', path.join(base, 'config.toml')], path.join(d.logs, 'containerd.log'));
}

export async function ctr(d: NodeDirs, args: string[], timeoutMs = 10 * 60_000): Promise<string> {
  try {
    return (await run('ctr', ['--address', containerdSocket(d), '--namespace', 'k8s.io', ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr ${args.join(' ')}: ${e.stderr ?? e.message}`);
  }
}

export async function startKubelet(d: NodeDirs, cp: LocalControlPlane, kubeletBin: string, nodeAddress: string): Promise<{ proc: ManagedProcess; healthz: string }> {
  const dir = path.join(d.runDir, 'kubelet');
  await mkdir(dir, { recursive: true });
  const cert = await cp.pki.client('kubelet', `/O=system:nodes/CN=system:node:${NODE_NAME}`);
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, cp.serverUrl, cp.pki.caCertPath, cert, `system:node:${NODE_NAME}`);
  const port = await freePort();
  const healthzPort = await freePort();
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The cgroup hierarchy here is v1 ("hybrid"); kubelet 1.35+ refuses it unless told.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    // The kubelet cannot lower its own oom_score_adj without CAP_SYS_RESOURCE.
    oomScoreAdj: 0,
    address: nodeAddress,
    port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    containerRuntimeEndpoint: `unix://${containerdSocket(d)}`,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: cp.pki.caCertPath } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [nodeAddress],
    clusterDomain: CLUSTER_DOMAIN,
    // Pods get only the cluster's resolver, not this machine's.
    resolvConf: '',
    podLogsDir: path.join(dir, 'pod-logs'),
    volumePluginDir: path.join(dir, 'volume-plugins'),
    failSwapOn: false,
    // A shared test machine's disk and memory are not the node's to defend by evicting pods.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
  };
  const configPath = path.join(dir, 'config.yaml');
  await writeFile(configPath, YAML.stringify(config));
  const proc = spawnManaged(
    'kubelet',
    kubeletBin,
    [`--config=${configPath}`, `--kubeconfig=${kubeconfig}`, `--root-dir=${path.join(dir, 'root')}`, `--cert-dir=${path.join(dir, 'pki')}`, `--node-ip=${nodeAddress}`, `--hostname-override=${NODE_NAME}`, '--v=1'],
    path.join(d.logs, 'kubelet.log'),
  );
  return { proc, healthz: `http://127.0.0.1:${healthzPort}/healthz` };
}

export async function startKubeProxy(d: NodeDirs, cp: LocalControlPlane, kubeProxyBin: string): Promise<{ proc: ManagedProcess; healthz: string }> {
  const dir = path.join(d.runDir, 'kube-proxy');
  await mkdir(dir, { recursive: true });
  const cert = await cp.pki.client('kube-proxy', '/CN=system:kube-proxy');
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, cp.serverUrl, cp.pki.caCertPath, cert, 'system:kube-proxy');
  const healthzPort = await freePort();
  const metricsPort = await freePort();
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    hostnameOverride: NODE_NAME,
    clusterCIDR: POD_CIDR,
    healthzBindAddress: `127.0.0.1:${healthzPort}`,
    metricsBindAddress: `127.0.0.1:${metricsPort}`,
    // Leave the machine's conntrack sysctls alone (zero: do not set).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // NodePorts on 127.0.0.1 would need route_localnet=1 for the whole machine.
    iptables: { localhostNodePorts: false, masqueradeAll: false },
  };
  const configPath = path.join(dir, 'config.yaml');
  await writeFile(configPath, YAML.stringify(config));
  const proc = spawnManaged('kube-proxy', kubeProxyBin, [`--config=${configPath}`, '--v=1'], path.join(d.logs, 'kube-proxy.log'));
  return { proc, healthz: `http://127.0.0.1:${healthzPort}/healthz` };
}

export async function startCoreDns(d: NodeDirs, cp: LocalControlPlane, corednsBin: string, nodeAddress: string): Promise<{ proc: ManagedProcess; ready: string }> {
  const dir = path.join(d.runDir, 'coredns');
  await mkdir(dir, { recursive: true });
  const healthPort = await freePort();
  const readyPort = await freePort();
  const corefile = `.:53 {
  bind ${nodeAddress}
  errors
  health 127.0.0.1:${healthPort}
  ready 127.0.0.1:${readyPort}
  kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
    kubeconfig ${cp.kubeconfigPath}
    pods insecure
  }
  cache 5
}
`;
  await writeFile(path.join(dir, 'Corefile'), corefile);
  const proc = spawnManaged('coredns', corednsBin, ['-conf', path.join(dir, 'Corefile')], path.join(d.logs, 'coredns.log'));
  return { proc, ready: `http://127.0.0.1:${readyPort}/ready` };
}
