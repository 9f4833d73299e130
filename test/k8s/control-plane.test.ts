// The harness itself: a real API server with RBAC and service-account tokens, controllers
// that turn a Deployment into Ready Pods and run a Job to completion, and a tear-down that
// leaves nothing behind.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness/binaries.js';
import { createNamespace, statusCode, waitFor } from './harness/kube.js';
import { startLocalControlPlane } from './harness/local-control-plane.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';

const plan = await planControlPlane();

async function pinnedKubernetesVersion(): Promise<string> {
  const env = await readFile(path.join(repoRoot, 'tools/k8s/versions.env'), 'utf8');
  const m = /^K8S_VERSION=(\S+)$/m.exec(env);
  if (!m?.[1]) throw new Error('K8S_VERSION missing from tools/k8s/versions.env');
  return m[1];
}

describe.skipIf(plan.skipReason !== undefined)(`Kubernetes control plane (${plan.provider ?? plan.skipReason})`, () => {
  const cluster = useControlPlane();

  it('serves the pinned Kubernetes version', async () => {
    const info = await cluster().kubeconfig.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    if (cluster().provider === 'local') expect(info.gitVersion).toBe(await pinnedKubernetesVersion());
  });

  it('enforces RBAC on service-account tokens it signed itself', async () => {
    const kc = cluster().kubeconfig;
    const ns = await createNamespace(kc, 'rbac');
    try {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
      const token = await core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns.name, body: { spec: { audiences: [], expirationSeconds: 600 } } });
      const asNobody = new KubeConfig();
      asNobody.loadFromOptions({
        clusters: [kc.getCurrentCluster()!],
        users: [{ name: 'nobody', token: token.status?.token }],
        contexts: [{ name: 'nobody', cluster: kc.getCurrentCluster()!.name, user: 'nobody' }],
        currentContext: 'nobody',
      });
      // Authenticated (the token verifies against this run's key), yet forbidden (RBAC).
      const err = await asNobody.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns.name }).catch((e: unknown) => e);
      expect(statusCode(err)).toBe(403);
    } finally {
      await ns.remove();
    }
  });

  it('rolls a Deployment out to ReplicaSets and Ready Pods', async () => {
    const kc = cluster().kubeconfig;
    const ns = await createNamespace(kc, 'deploy');
    try {
      const apps = kc.makeApiClient(AppsV1Api);
      const labels = { app: 'web' };
      await apps.createNamespacedDeployment({
        namespace: ns.name,
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } },
          },
        },
      });
      const ready = await waitFor('Deployment web to have 2 available replicas', 120_000, async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
        return d.status?.availableReplicas === 2 && d;
      });
      expect(ready.status?.readyReplicas).toBe(2);
      const replicaSets = await apps.listNamespacedReplicaSet({ namespace: ns.name });
      expect(replicaSets.items).toHaveLength(1);
      expect(replicaSets.items[0]?.metadata?.ownerReferences?.[0]?.name).toBe('web');
      const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns.name });
      expect(pods.items).toHaveLength(2);
      for (const pod of pods.items) {
        expect(pod.spec?.nodeName).toBeTruthy(); // the scheduler placed it
        expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      }
    } finally {
      await ns.remove();
    }
  });

  it("runs a Job's Pod to completion", async () => {
    const kc = cluster().kubeconfig;
    const ns = await createNamespace(kc, 'job');
    try {
      const batch = kc.makeApiClient(BatchV1Api);
      await batch.createNamespacedJob({
        namespace: ns.name,
        body: {
          metadata: { name: 'once' },
          spec: {
            backoffLimit: 0,
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'once', image: 'busybox:1.36', command: ['true'] }] } },
          },
        },
      });
      const done = await waitFor('Job once to complete', 120_000, async () => {
        const job = await batch.readNamespacedJob({ name: 'once', namespace: ns.name });
        return job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && job;
      });
      expect(done.status?.succeeded).toBe(1);
      const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns.name, labelSelector: 'job-name=once' });
      expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded']);
    } finally {
      await ns.remove();
    }
  });
});

/** Processes of a process group that are still alive (zombies awaiting PID 1 do not count). */
async function liveMembers(pgid: number): Promise<number[]> {
  const live: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''); // gone meanwhile
    // Fields after the parenthesised command: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

describe.skipIf(plan.provider !== 'local')('local control plane tear-down', () => {
  it(
    'stop() ends every process group and removes the run directory',
    async () => {
      const cp = await startLocalControlPlane({ nodes: 1 });
      const groups = cp.processGroups();
      expect(groups).toHaveLength(5); // etcd, apiserver, controller-manager, scheduler, kwok
      // Each group holds the watchdog and the binary it supervises.
      for (const pgid of groups) expect((await liveMembers(pgid)).length).toBeGreaterThanOrEqual(2);
      await cp.stop();
      for (const pgid of groups) expect(await liveMembers(pgid)).toEqual([]);
      await expect(stat(cp.runDir)).rejects.toMatchObject({ code: 'ENOENT' });
    },
    CONTROL_PLANE_START_TIMEOUT_MS,
  );
});
