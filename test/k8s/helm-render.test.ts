// The Helm chart as rendered: lint clean, values checked by the schema with clear messages,
// least-privilege hardened output, and every rendered object accepted by a real API server in
// a server-side dry run, with default values and with every optional feature on.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type KubernetesObject,
  type V1ClusterRole,
  type V1CustomResourceDefinition,
  type V1Deployment,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './harness/binaries.js';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { errorText, statusCode, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';

const plan = await planControlPlane();
const fixtures = path.join(repoRoot, 'test/k8s/fixtures');
const allFeatures = path.join(fixtures, 'values-all-features.yaml');
const RELEASE_NS = 'chat-operator';

async function render(args: string[]): Promise<KubernetesObject[]> {
  const res = await helm(['template', 'chat', chartDir, '--namespace', RELEASE_NS, ...args]);
  expect(res.code, res.stderr).toBe(0);
  return (loadAllYaml(res.stdout) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null);
}

const kinds = (objs: KubernetesObject[]) => [...new Set(objs.map((o) => o.kind))].sort();
const find = <T extends KubernetesObject>(objs: KubernetesObject[], kind: string) => objs.filter((o) => o.kind === kind) as T[];

describe.skipIf(plan.skipReason !== undefined)(`Helm chart rendering (${plan.provider ?? plan.skipReason})`, () => {
  // A fresh machine builds helm here, not inside a test's 30 s.
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();

  /** Server-side apply with dryRun=All: admission, validation and defaulting, nothing stored. */
  async function dryRunApply(objs: KubernetesObject[]): Promise<string[]> {
    const api = KubernetesObjectApi.makeApiClient(cluster().kubeconfig);
    const failures: string[] = [];
    for (const obj of objs) {
      await api.patch(obj, undefined, 'All', 'chart-dry-run', true, PatchStrategy.ServerSideApply).catch((err: unknown) => {
        failures.push(`${obj.kind}/${obj.metadata?.name}: ${errorText(err)}`);
      });
    }
    return failures;
  }

  beforeAll(async () => {
    const kc = cluster().kubeconfig;
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of [RELEASE_NS, 'team-a', 'team-b']) {
      await core.createNamespace({ body: { metadata: { name } } }).catch((err: unknown) => {
        if (statusCode(err) !== 409) throw err;
      });
    }
    // A ChatBackend or ServiceMonitor can only be dry-run once its CRD is really served.
    const crds = loadAllYaml(await readFile(path.join(fixtures, 'monitoring-crds.yaml'), 'utf8')) as V1CustomResourceDefinition[];
    crds.push(...(loadAllYaml(await readFile(path.join(repoRoot, 'crds/chatbackend.dev_chatbackends.yaml'), 'utf8')) as V1CustomResourceDefinition[]));
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of crds) await objects.patch(crd, undefined, undefined, 'chart-test-setup', true, PatchStrategy.ServerSideApply);
    for (const crd of crds) {
      await waitFor(`CRD ${crd.metadata?.name} Established`, 60_000, async () => {
        const c = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
      });
    }
  }, 120_000);

  it('passes helm lint --strict with default values and with every feature on', async () => {
    for (const extra of [[], ['--values', allFeatures]]) {
      const res = await helm(['lint', '--strict', chartDir, ...extra]);
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
      expect(res.stdout).toContain('0 chart(s) failed');
    }
  });

  it('rejects a values file with a wrong type, naming the key and the types', async () => {
    const res = await helm(['template', 'chat', chartDir, '--values', path.join(fixtures, 'values-wrong-type.yaml')]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("values don't meet the specifications of the schema");
    expect(res.stderr).toContain("at '/replicaCount': got string, want integer");
  });

  it('rejects misspelt keys and an invalid first ChatBackend before anything reaches the cluster', async () => {
    const typo = await helm(['template', 'chat', chartDir, '--set', 'replicacount=1']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("additional properties 'replicacount' not allowed");
    const badSpec = await helm(['template', 'chat', chartDir, '--set', 'chatBackend.create=true', '--set', 'chatBackend.spec.replicas=-1']);
    expect(badSpec.code).not.toBe(0);
    expect(badSpec.stderr).toContain("at '/chatBackend/spec/replicas': minimum: got -1, want 0");
  });

  it('renders a hardened, least-privilege operator with default values, accepted by the API server', async () => {
    const objs = await render([]);
    // The Grafana dashboard ConfigMap ships by default (grafanaDashboard.enabled).
    expect(kinds(objs)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);

    const [deployment] = find<V1Deployment>(objs, 'Deployment');
    const pod = deployment!.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.args).toEqual(['operator']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.livenessProbe?.httpGet?.port).toBe('health');
    expect(container.readinessProbe?.httpGet?.port).toBe('health');
    expect(container.ports?.map((p) => p.name).sort()).toEqual(['health', 'metrics']);

    const [role] = find<V1ClusterRole>(objs, 'ClusterRole');
    const rules = role!.rules!;
    expect(rules.flatMap((r) => [...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? [])])).not.toContain('*');
    const secretRules = rules.filter((r) => r.resources?.includes('secrets'));
    expect(secretRules.flatMap((r) => r.verbs)).toEqual(['get', 'list', 'watch']);
    for (const resource of ['jobs', 'deployments', 'services', 'ingresses', 'poddisruptionbudgets', 'horizontalpodautoscalers', 'configmaps', 'events', 'chatbackends', 'chatbackends/status']) {
      expect(rules.some((r) => r.resources?.includes(resource)), resource).toBe(true);
    }
    const leaseRole = find<V1ClusterRole>(objs, 'Role').find((r) => r.rules?.some((x) => x.resources?.includes('leases')));
    expect(leaseRole?.metadata?.namespace).toBe(RELEASE_NS);

    expect(await dryRunApply(objs)).toEqual([]);
  });

  it('renders every optional feature, accepted by the API server', async () => {
    const objs = await render(['--values', allFeatures]);
    expect(kinds(objs)).toEqual(['ChatBackend', 'ConfigMap', 'CustomResourceDefinition', 'Deployment', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    // Watching two namespaces: a Role in each instead of cluster-wide rights.
    const roles = find<V1ClusterRole>(objs, 'Role').map((r) => r.metadata?.namespace).sort();
    expect(roles).toEqual([RELEASE_NS, 'team-a', 'team-b']);
    expect(await dryRunApply(objs)).toEqual([]);
  });

  it('leaves the CRD out when crds.create is false', async () => {
    const objs = await render(['--set', 'crds.create=false']);
    expect(kinds(objs)).not.toContain('CustomResourceDefinition');
    expect(objs.length).toBeGreaterThan(0);
  });
});
