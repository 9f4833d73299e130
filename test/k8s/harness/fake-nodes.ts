// The fake nodes kwok plays the kubelet for, and the wait until the cluster can run workloads.
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { ManagedProcess } from './processes.js';

export function fakeNode(name: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
    status: {
      allocatable: { cpu: '16', memory: '64Gi', pods: '110' },
      capacity: { cpu: '16', memory: '64Gi', pods: '110' },
    },
  };
}

export async function createFakeNodes(kubeconfigText: string, count: number): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < count; i++) await core.createNode({ body: fakeNode(`kwok-node-${i}`) });
}

/** Nodes Ready (kwok) and the default ServiceAccount present (controller-manager). */
export async function waitForClusterUsable(kubeconfigText: string, nodes: number, watch: ManagedProcess[], timeoutMs: number): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  const dead = new Map<string, string>();
  for (const p of watch) void p.exited.then((code) => dead.set(p.name, code));
  let last = '';
  while (Date.now() < deadline) {
    if (dead.size > 0) throw new Error(`control-plane process exited: ${[...dead].map(([n, c]) => `${n} (${c})`).join(', ')}`);
    const list = await core.listNode();
    const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const untainted = ready.filter((n) => !(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'));
    const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(
      () => true,
      () => false,
    );
    if (untainted.length >= nodes && sa) return;
    last = `${ready.length}/${nodes} nodes Ready, ${untainted.length} schedulable, default ServiceAccount ${sa ? 'present' : 'missing'}`;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`cluster not usable after ${timeoutMs} ms: ${last}`);
}
