// Kube against a loopback HTTP server that answers as an API server would for an operator whose
// RBAC covers only its watched namespaces: discovery is open to everyone, listing a kind
// cluster-wide is forbidden.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kube } from './kube.js';

const forbidden = (path: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: `servicemonitors.monitoring.coreos.com is forbidden at the cluster scope (${path})` });
const resources = (groupVersion: string, list: { name: string; kind: string }[]) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion,
  resources: list.map((r) => ({ ...r, namespaced: true, singularName: '', verbs: ['get', 'list', 'watch'] })),
});

describe('Kube.serves', () => {
  let server: http.Server;
  let kube: Kube;
  const requests: string[] = [];
  let discovery: number = 200;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const path = req.url!.split('?')[0]!;
      requests.push(path);
      const send = (code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (path === '/apis/monitoring.coreos.com/v1') {
        if (discovery !== 200) return send(discovery, { kind: 'Status', code: discovery, message: 'the server is currently unable to handle the request' });
        return send(200, resources('monitoring.coreos.com/v1', [{ name: 'servicemonitors', kind: 'ServiceMonitor' }, { name: 'servicemonitors/status', kind: 'ServiceMonitor' }, { name: 'podmonitors', kind: 'PodMonitor' }]));
      }
      if (path === '/api/v1') return send(200, resources('v1', [{ name: 'secrets', kind: 'Secret' }]));
      if (path.startsWith('/apis/monitoring.coreos.com/v1/')) return send(403, forbidden(path));
      send(404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'namespaced-operator' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    kube = new Kube(kc);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('finds a served kind by API discovery, without listing it cluster-wide (forbidden under namespaced RBAC)', async () => {
    requests.length = 0;
    expect(await kube.serves('monitoring.coreos.com/v1', 'ServiceMonitor')).toBe(true);
    expect(requests, 'serves() must ask discovery, not list the kind').toEqual(['/apis/monitoring.coreos.com/v1']);
    expect(await kube.serves('v1', 'Secret')).toBe(true);
  });

  it('answers false for a group/version not served, and for a kind the group/version lacks', async () => {
    expect(await kube.serves('example.com/v1', 'Widget')).toBe(false);
    expect(await kube.serves('monitoring.coreos.com/v1', 'Probe')).toBe(false);
    expect(await kube.serves('v1', 'Widget')).toBe(false);
  });

  it('throws on any other failure of discovery, so the caller retries rather than assume', async () => {
    discovery = 503;
    try {
      await expect(kube.serves('monitoring.coreos.com/v1', 'ServiceMonitor')).rejects.toMatchObject({ code: 503 });
    } finally {
      discovery = 200;
    }
  });
});
