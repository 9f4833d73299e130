// Where the k8s suites get a Kubernetes API server, in order: the cluster KUBECONFIG points
// at (a user's real cluster), else a k3s container via testcontainers when a Docker engine
// answers, else the control plane built from Go modules on this machine. When none is
// possible the suites are skipped with the reason, except under CI, where that is a failure.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { cannotBuildReason } from './binaries.js';
import { startLocalControlPlane, type LocalControlPlaneOptions } from './local-control-plane.js';
import { skipOrFail } from '../../helpers/skip.js';

export type ProviderKind = 'KUBECONFIG' | 'k3s' | 'local';

export interface ControlPlane {
  provider: ProviderKind;
  kubeconfigPath: string;
  kubeconfig: KubeConfig;
  /** True when workloads run on kwok's fake nodes: Pods become Ready without a container. */
  fakeNodes: boolean;
  stop(): Promise<void>;
}

export type ProviderPlan = { provider: ProviderKind; skipReason?: undefined } | { provider?: undefined; skipReason: string };

// Same minor as the local control plane; override for a registry mirror or another release.
const K3S_IMAGE = process.env.CHAT_BACKEND_K3S_IMAGE ?? 'rancher/k3s:v1.36.3-k3s1';

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('docker probe timed out')), 10_000))),
    ]).finally(() => clearTimeout(timer));
    return true;
  } catch {
    return false; // no engine answers: fall through to the local control plane
  }
}

let planned: Promise<ProviderPlan> | undefined;

/** Decides the provider once per test file; under CI, having none throws instead of skipping. */
export function planControlPlane(env: NodeJS.ProcessEnv = process.env): Promise<ProviderPlan> {
  planned ??= (async (): Promise<ProviderPlan> => {
    if (env.KUBECONFIG) return { provider: 'KUBECONFIG' };
    if (await dockerAnswers()) return { provider: 'k3s' };
    const reason = await cannotBuildReason();
    if (reason === undefined) return { provider: 'local' };
    const skipReason = skipOrFail(`no Kubernetes for the k8s suites: KUBECONFIG is unset, no Docker engine answers, and ${reason}`, (r) => `${r} (CI=true: the k8s suites must run)`, env);
    return { skipReason };
  })();
  return planned;
}

function kubeConfigFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}

export async function startControlPlane(options: LocalControlPlaneOptions = {}): Promise<ControlPlane> {
  const plan = await planControlPlane();
  if (plan.skipReason !== undefined) throw new Error(plan.skipReason);
  switch (plan.provider) {
    case 'KUBECONFIG': {
      const kubeconfigPath = process.env.KUBECONFIG!.split(path.delimiter)[0]!;
      const kubeconfig = new KubeConfig();
      kubeconfig.loadFromFile(kubeconfigPath);
      return { provider: 'KUBECONFIG', kubeconfigPath, kubeconfig, fakeNodes: false, stop: async () => undefined };
    }
    case 'k3s': {
      const { K3sContainer } = await import('@testcontainers/k3s');
      const container = await new K3sContainer(K3S_IMAGE).start();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-k3s-'));
      const kubeconfigPath = path.join(dir, 'kubeconfig');
      const text = container.getKubeConfig();
      await writeFile(kubeconfigPath, text, { mode: 0o600 });
      return {
        provider: 'k3s',
        kubeconfigPath,
        kubeconfig: kubeConfigFrom(text),
        fakeNodes: false,
        stop: async () => {
          await container.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    case 'local': {
      const cp = await startLocalControlPlane(options);
      return { provider: 'local', kubeconfigPath: cp.kubeconfigPath, kubeconfig: kubeConfigFrom(cp.kubeconfigText), fakeNodes: true, stop: cp.stop };
    }
  }
}
