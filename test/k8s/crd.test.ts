// The ChatBackend CRD against a real API server: it installs and becomes Established, a valid
// resource is stored with the schema's defaults filled in, and every kind of mistake is
// rejected by the API server itself, naming the field.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatBackendSpecStrictSchema, GROUP, PLURAL, VERSION } from '../../operator/api.js';
import { repoRoot } from './harness/binaries.js';
import { createNamespace, errorText, statusCode, waitFor } from './harness/kube.js';
import { planControlPlane } from './harness/provider.js';
import { useControlPlane } from './harness/suite.js';
import { chatBackend, completeSpec, invalidCases, minimalSpec } from './fixtures/chatbackends.js';

const plan = await planControlPlane();
const CRD_NAME = `${PLURAL}.${GROUP}`;

/** A GET asking for the server-side Table rendering, which is what kubectl get prints. */
async function getTable(kc: KubeConfig, urlPath: string): Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }> {
  const url = new URL(kc.getCurrentCluster()!.server + urlPath);
  const options: https.RequestOptions = { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
      })
      .on('error', reject);
  });
}

describe.skipIf(plan.skipReason !== undefined)(`ChatBackend CRD (${plan.provider ?? plan.skipReason})`, () => {
  const cluster = useControlPlane();
  let namespace: { name: string; remove(): Promise<void> };
  let objects: CustomObjectsApi;

  beforeAll(async () => {
    const kc = cluster().kubeconfig;
    // loadYaml maps the x-kubernetes-* keys onto client-node's model; a plain parse would have
    // its serializer drop them silently.
    const crd = loadYaml<V1CustomResourceDefinition>(await readFile(path.join(repoRoot, 'crds/chatbackend.dev_chatbackends.yaml'), 'utf8'));
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    // Replace it when a real cluster already has an older copy, so the suite tests this one.
    await ext.deleteCustomResourceDefinition({ name: CRD_NAME }).catch((err: unknown) => {
      if (statusCode(err) !== 404) throw err;
    });
    await waitFor('an old CRD to be gone', 60_000, async () => ext.readCustomResourceDefinition({ name: CRD_NAME }).then(() => false, (err: unknown) => statusCode(err) === 404));
    await ext.createCustomResourceDefinition({ body: crd });
    namespace = await createNamespace(kc, 'crd');
    objects = kc.makeApiClient(CustomObjectsApi);
  }, 120_000);

  afterAll(async () => {
    await namespace?.remove();
  });

  const create = (name: string, spec: unknown, dryRun?: 'All') =>
    objects.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace.name, plural: PLURAL, body: chatBackend(name, spec), fieldValidation: 'Strict', dryRun });

  it('installs and becomes Established with its names, status subresource and printer columns', async () => {
    const ext = cluster().kubeconfig.makeApiClient(ApiextensionsV1Api);
    const crd = await waitFor('the CRD to be Established', 60_000, async () => {
      const c = await ext.readCustomResourceDefinition({ name: CRD_NAME });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') && c;
    });
    expect(crd.status?.acceptedNames?.shortNames).toEqual(['cb']);
    expect(crd.spec.scope).toBe('Namespaced');
    const version = crd.spec.versions.find((v) => v.name === VERSION);
    expect(version?.subresources?.status).toEqual({});
    expect(version?.additionalPrinterColumns?.map((c) => c.name)).toEqual(['Ready', 'Replicas', 'Image', 'Age']);
  });

  it('accepts a minimal resource and fills in the defaults the operator relies on', async () => {
    const created = (await create('minimal', minimalSpec)) as { spec: unknown };
    // The API server's defaults must be exactly zod's: the reconciler parses with the latter.
    expect(created.spec).toEqual(ChatBackendSpecStrictSchema.parse(minimalSpec));
    expect(created.spec).toMatchObject({
      replicas: 2,
      imagePullPolicy: 'IfNotPresent',
      database: { secretRef: { name: 'chat-db', key: 'url' } },
      auth: { jwtSecretRef: { name: 'chat-jwt', key: 'secret' }, allowedOrigins: [] },
      llm: { provider: 'builtin', requestTimeoutSeconds: 120, responseCache: { enabled: true, ttlSeconds: 3600 } },
      ingress: { enabled: false, timeouts: { readSeconds: 3600, sendSeconds: 3600, connectSeconds: 10 } },
      schemaJob: { backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 86400 },
      podDisruptionBudget: { enabled: true },
      autoscaling: { enabled: false, minReplicas: 2, maxReplicas: 10 },
    });
  });

  it('stores a resource that sets every field without pruning any of it', async () => {
    const created = (await create('complete', completeSpec)) as { spec: unknown };
    expect(created.spec).toEqual(ChatBackendSpecStrictSchema.parse(completeSpec));
  });

  it('keeps status behind the status subresource and shows it in the printer columns', async () => {
    const kc = cluster().kubeconfig;
    const status = {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'RolledOut', message: 'all replicas available', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
      schema: { appliedHash: 'abc123', jobName: 'minimal-schema-abc123' },
      replicas: 2,
      readyReplicas: 2,
      url: 'http://minimal.default.svc:8080',
    };
    const target = { group: GROUP, version: VERSION, namespace: namespace.name, plural: PLURAL, name: 'minimal' };
    const current = (await objects.getNamespacedCustomObject(target)) as { metadata: { resourceVersion: string } };
    // Through the main resource, status is ignored...
    await objects.replaceNamespacedCustomObject({ ...target, body: { ...chatBackend('minimal', minimalSpec), metadata: { name: 'minimal', resourceVersion: current.metadata.resourceVersion }, status } });
    expect(((await objects.getNamespacedCustomObject(target)) as { status?: unknown }).status).toBeUndefined();
    // ...and through /status it is stored, and validated.
    const latest = (await objects.getNamespacedCustomObject(target)) as Record<string, unknown>;
    await objects.replaceNamespacedCustomObjectStatus({ ...target, body: { ...latest, status } });
    expect(((await objects.getNamespacedCustomObject(target)) as { status?: unknown }).status).toEqual(status);
    const fresh = (await objects.getNamespacedCustomObject(target)) as Record<string, unknown>;
    const badStatus = { ...fresh, status: { conditions: [{ type: 'Ready', status: 'Maybe', reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    const err = await objects.replaceNamespacedCustomObjectStatus({ ...target, body: badStatus }).catch((e: unknown) => e);
    expect(errorText(err)).toContain('status.conditions[0].status: Unsupported value: "Maybe"');

    const table = await getTable(kc, `/apis/${GROUP}/${VERSION}/namespaces/${namespace.name}/${PLURAL}/minimal`);
    const names = table.columnDefinitions.map((c) => c.name);
    expect(names).toEqual(['Name', 'Ready', 'Replicas', 'Image', 'Age']);
    expect(table.rows[0]?.cells.slice(0, 4)).toEqual(['minimal', 'True', 2, 'chat-backend:0.1.0']);
  });

  it.each(invalidCases)('rejects $name, naming the field', async ({ name, spec, expect: fragments, code }) => {
    const objectName = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const err = await create(objectName, spec).catch((e: unknown) => e);
    expect(statusCode(err), `expected HTTP ${code ?? 422} for ${name}, got ${errorText(err)}`).toBe(code ?? 422);
    for (const fragment of fragments) expect(errorText(err)).toContain(fragment);
    // Nothing half-stored.
    const read = await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace.name, plural: PLURAL, name: objectName }).catch((e: unknown) => e);
    expect(statusCode(read)).toBe(404);
    // The operator's own parser agrees with the API server.
    expect(ChatBackendSpecStrictSchema.safeParse(spec).success).toBe(false);
  });
});
