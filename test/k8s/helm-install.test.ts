// A real `helm install` of the operator chart: the CRD becomes Established, the operator
// Deployment becomes available (kwok plays its Pod), its ServiceAccount holds exactly the
// rights it needs, and `helm uninstall` removes what the release created.
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { statusCode, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { CONTROL_PLANE_START_TIMEOUT_MS, useControlPlane } from './harness/suite.js';

const plan = await planControlPlane();
const NS = 'chat-operator-install';
const RELEASE = 'chat';
const FULLNAME = 'chat-chat-backend-operator';
const CRD = 'chatbackends.chatbackend.dev';

async function can(kc: KubeConfig, verb: string, resource: string, opts: { group?: string; namespace?: string; subresource?: string } = {}): Promise<boolean> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${NS}:${FULLNAME}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: { verb, resource, group: opts.group ?? '', namespace: opts.namespace, subresource: opts.subresource },
      },
    },
  });
  return review.status?.allowed === true;
}

const gone = (read: () => Promise<unknown>) => read().then(() => false, (err: unknown) => statusCode(err) === 404);

describe.skipIf(plan.skipReason !== undefined)(`Helm install of the operator chart (${plan.provider ?? plan.skipReason})`, () => {
  // A fresh machine builds helm here, not inside a test's 30 s.
  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  const cluster = useControlPlane();
  const kubeconfig = () => cluster().kubeconfigPath;

  afterAll(async () => {
    // On a real cluster, leave nothing behind even when a test failed halfway. (The local
    // control plane is thrown away whole.)
    const cp = (() => {
      try {
        return cluster();
      } catch {
        return undefined; // never started: nothing to clean
      }
    })();
    if (cp && cp.provider !== 'local') {
      await helm(['uninstall', RELEASE, '--namespace', NS, '--wait'], kubeconfig());
      await cluster().kubeconfig.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    }
  }, 120_000);

  it('installs: CRD Established, operator Deployment available', async () => {
    // kwok makes the Pod Ready without the image; on a real cluster the image must exist.
    const wait = cluster().fakeNodes ? ['--wait', '--timeout', '3m'] : [];
    const res = await helm(['install', RELEASE, chartDir, '--namespace', NS, '--create-namespace', ...wait], kubeconfig());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('STATUS: deployed');
    expect(res.stdout).toContain(`kubectl -n ${NS} rollout status deployment/${FULLNAME}`); // NOTES.txt

    const kc = cluster().kubeconfig;
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');

    if (cluster().fakeNodes) {
      const apps = kc.makeApiClient(AppsV1Api);
      const deployment = await waitFor('the operator Deployment to be available', 120_000, async () => {
        const d = await apps.readNamespacedDeployment({ name: FULLNAME, namespace: NS });
        return d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') && d;
      });
      expect(deployment.status?.availableReplicas).toBe(1);
      expect(deployment.spec?.template.spec?.serviceAccountName).toBe(FULLNAME);
    }
  });

  it("grants the operator's ServiceAccount what it needs and nothing more", async () => {
    const kc = cluster().kubeconfig;
    const elsewhere = 'some-team';
    expect(await can(kc, 'watch', 'chatbackends', { group: 'chatbackend.dev', namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'patch', 'chatbackends', { group: 'chatbackend.dev', namespace: elsewhere, subresource: 'status' })).toBe(true);
    expect(await can(kc, 'create', 'jobs', { group: 'batch', namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'patch', 'deployments', { group: 'apps', namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'create', 'horizontalpodautoscalers', { group: 'autoscaling', namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'create', 'events', { namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'get', 'secrets', { namespace: elsewhere })).toBe(true);
    // The Secret watch: a changed value rolls the pods of the ChatBackends that reference it.
    expect(await can(kc, 'list', 'secrets', { namespace: elsewhere })).toBe(true);
    expect(await can(kc, 'watch', 'secrets', { namespace: elsewhere })).toBe(true);
    // Secrets are read-only; nothing outside its workloads; Leases only in its own namespace.
    expect(await can(kc, 'create', 'secrets', { namespace: elsewhere })).toBe(false);
    expect(await can(kc, 'delete', 'secrets', { namespace: elsewhere })).toBe(false);
    expect(await can(kc, 'create', 'pods', { namespace: elsewhere })).toBe(false);
    expect(await can(kc, 'delete', 'nodes')).toBe(false);
    expect(await can(kc, 'create', 'clusterrolebindings', { group: 'rbac.authorization.k8s.io' })).toBe(false);
    expect(await can(kc, 'delete', 'customresourcedefinitions', { group: 'apiextensions.k8s.io' })).toBe(false);
    expect(await can(kc, 'update', 'leases', { group: 'coordination.k8s.io', namespace: NS })).toBe(true);
    expect(await can(kc, 'update', 'leases', { group: 'coordination.k8s.io', namespace: elsewhere })).toBe(false);
  });

  it('uninstalls everything it installed, keeping the CRD by default', async () => {
    const res = await helm(['uninstall', RELEASE, '--namespace', NS, '--wait'], kubeconfig());
    expect(res.code, res.stderr).toBe(0);
    const kc = cluster().kubeconfig;
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await waitFor('the release objects to be deleted', 60_000, async () => {
      const all = await Promise.all([
        gone(() => apps.readNamespacedDeployment({ name: FULLNAME, namespace: NS })),
        gone(() => core.readNamespacedServiceAccount({ name: FULLNAME, namespace: NS })),
        gone(() => core.readNamespacedService({ name: `${FULLNAME}-metrics`, namespace: NS })),
        gone(() => rbac.readClusterRole({ name: FULLNAME })),
        gone(() => rbac.readClusterRoleBinding({ name: FULLNAME })),
        gone(() => rbac.readNamespacedRole({ name: `${FULLNAME}-leader-election`, namespace: NS })),
      ]);
      return all.every(Boolean);
    });
    // helm.sh/resource-policy: keep — uninstalling the operator must not delete every ChatBackend.
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    expect((await ext.readCustomResourceDefinition({ name: CRD })).metadata?.name).toBe(CRD);

    // With crds.keep=false the CRD goes with the release.
    const again = await helm(['install', RELEASE, chartDir, '--namespace', NS, '--set', 'crds.keep=false'], kubeconfig());
    expect(again.code, again.stderr).toBe(0);
    const drop = await helm(['uninstall', RELEASE, '--namespace', NS, '--wait'], kubeconfig());
    expect(drop.code, drop.stderr).toBe(0);
    await waitFor('the CRD to be deleted', 60_000, () => gone(() => ext.readCustomResourceDefinition({ name: CRD })));
  });
});
