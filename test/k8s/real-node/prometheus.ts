// Debian's Prometheus against the real node, configured the way the chart tells a Prometheus
// to scrape: the operator through the chart's ServiceMonitor (its selector and endpoint port
// resolved as prometheus-operator does: the selected Services' endpoints on the named port,
// job = the Service's name, plus namespace, service and pod labels), the server pods through
// the `prometheus.io/*` annotations the operator puts on them. Debian builds Prometheus
// without Kubernetes service discovery (`kubernetes_sd_configs` is not a field it knows), so
// the suite discovers instead: once a second it reads Services, Endpoints and Pods from the
// API server and rewrites file_sd target files, which Prometheus follows as pods come and
// go. Pod IPs are routed from the host. The chart's PrometheusRule groups are loaded as a
// rule file with their expressions unchanged; only the timing is the test's: 2 s scrapes and
// evaluations, and every rule's `for` cut to FOR_IN_TEST, so an alert fires and resolves
// within seconds of its fault.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import path from 'node:path';
import YAML from 'yaml';
import { chartDir, helm } from '../harness/helm.js';
import { freePort } from '../harness/ports.js';
import { spawnManaged, type ManagedProcess } from '../harness/processes.js';
import { waitFor } from '../harness/kube.js';
import type { RealCluster } from './cluster.js';

export const FOR_IN_TEST = '4s';
const INTERVAL = '2s';

interface ServiceMonitor {
  metadata: { name: string; namespace: string };
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path?: string; honorLabels?: boolean }[] };
}
interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; for?: string }[];
}

export interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface Prometheus {
  url: string;
  proc: ManagedProcess;
  /** The chart's rule groups as loaded (with `for` cut to FOR_IN_TEST). */
  groups: RuleGroup[];
  /** Samples of `expr` at each step between `start` and now (seconds since the epoch). */
  queryRange(expr: string, start: number, stepS?: number): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<Alert[]>;
  /** Active targets by scrape job: how many are up. */
  upTargets(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const sanitize = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, '_');

async function render(release: string, namespace: string, template: string, set: string): Promise<unknown> {
  const r = await helm(['template', release, chartDir, '--namespace', namespace, '--set', set, '--show-only', template]);
  if (r.code !== 0) throw new Error(`helm template ${template}: ${r.stderr}`);
  return YAML.parse(r.stdout);
}

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** A ServiceMonitor's targets: the matching Services' endpoint addresses on the named port. */
async function serviceMonitorTargets(core: CoreV1Api, sm: ServiceMonitor): Promise<TargetGroup[]> {
  const ns = sm.metadata.namespace;
  const selector = Object.entries(sm.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
  const out: TargetGroup[] = [];
  for (const svc of (await core.listNamespacedService({ namespace: ns, labelSelector: selector })).items) {
    const name = svc.metadata!.name!;
    const eps = await core.readNamespacedEndpoints({ name, namespace: ns }).catch(() => undefined);
    for (const subset of eps?.subsets ?? []) {
      for (const ep of sm.spec.endpoints) {
        const port = subset.ports?.find((p) => p.name === ep.port);
        if (!port) continue;
        // Prometheus' endpoints discovery lists not-ready addresses too.
        for (const a of [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])]) {
          out.push({ targets: [`${a.ip}:${port.port}`], labels: { job: name, namespace: ns, service: name, pod: a.targetRef?.name ?? '', __metrics_path__: ep.path ?? '/metrics' } });
        }
      }
    }
  }
  return out;
}

/** Running pods that ask to be scraped with the `prometheus.io/scrape|port|path` annotations. */
async function annotatedPodTargets(core: CoreV1Api): Promise<TargetGroup[]> {
  const out: TargetGroup[] = [];
  for (const pod of (await core.listPodForAllNamespaces()).items) {
    const a = pod.metadata?.annotations ?? {};
    if (a['prometheus.io/scrape'] !== 'true' || pod.status?.phase !== 'Running' || !pod.status.podIP || !a['prometheus.io/port']) continue;
    out.push({ targets: [`${pod.status.podIP}:${a['prometheus.io/port']}`], labels: { namespace: pod.metadata!.namespace!, pod: pod.metadata!.name!, __metrics_path__: a['prometheus.io/path'] ?? '/metrics' } });
  }
  return out;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

export async function startPrometheus(cluster: RealCluster, release: string, namespace: string): Promise<Prometheus> {
  const dir = path.join(cluster.dirs.runDir, 'prometheus');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const sm = (await render(release, namespace, 'templates/servicemonitor.yaml', 'metrics.serviceMonitor.enabled=true')) as ServiceMonitor;
  const rule = (await render(release, namespace, 'templates/prometheusrule.yaml', 'metrics.prometheusRule.enabled=true')) as { spec: { groups: RuleGroup[] } };
  const groups = rule.spec.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.for ? { ...r, for: FOR_IN_TEST } : r)) }));
  await writeFile(path.join(dir, 'rules.yaml'), YAML.stringify({ groups }));
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const smFile = path.join(dir, 'servicemonitor-targets.json');
  const podsFile = path.join(dir, 'pod-targets.json');
  const discover = async () => {
    await writeAtomically(smFile, JSON.stringify(await serviceMonitorTargets(core, sm)));
    await writeAtomically(podsFile, JSON.stringify(await annotatedPodTargets(core)));
  };
  await discover();
  let discovering = false;
  const discovery = setInterval(() => {
    if (discovering) return;
    discovering = true;
    discover().catch((err: unknown) => console.warn(`[prometheus] discovery failed: ${(err as Error).message}`)).finally(() => (discovering = false));
  }, 1000);
  const fileSd = (file: string) => [{ files: [file], refresh_interval: '1s' }];
  const config = {
    global: { scrape_interval: INTERVAL, scrape_timeout: INTERVAL, evaluation_interval: INTERVAL },
    rule_files: [path.join(dir, 'rules.yaml')],
    scrape_configs: [
      { job_name: `serviceMonitor/${sm.metadata.namespace}/${sm.metadata.name}`, honor_labels: sm.spec.endpoints.some((e) => e.honorLabels === true), file_sd_configs: fileSd(smFile) },
      { job_name: 'kubernetes-pods', file_sd_configs: fileSd(podsFile) },
    ],
  };
  await writeFile(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
  const port = await freePort();
  const proc = spawnManaged(
    'prometheus',
    'prometheus',
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    path.join(cluster.dirs.logs, 'prometheus.log'),
  );
  const url = `http://127.0.0.1:${port}`;
  let exited = '';
  void proc.exited.then((how) => (exited = `prometheus exited (${how}):\n${proc.tail(20)}`));
  try {
    await waitFor('prometheus ready', 60_000, async () => {
      if (exited) throw new Error(exited);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
    }, 250);
  } catch (err) {
    clearInterval(discovery);
    await proc.stop();
    throw err;
  }
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${url}${p}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    proc,
    groups,
    queryRange: async (expr, start, stepS = 2) =>
      (await api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(`/api/v1/query_range?${new URLSearchParams({ query: expr, start: String(start), end: String(Date.now() / 1000), step: String(stepS) })}`)).result,
    query: async (expr) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?${new URLSearchParams({ query: expr })}`)).result,
    alerts: async () => (await api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts,
    upTargets: async () => {
      const t = await api<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('/api/v1/targets?state=active');
      const up: Record<string, number> = {};
      for (const x of t.activeTargets) if (x.health === 'up') up[x.labels.job!] = (up[x.labels.job!] ?? 0) + 1;
      return up;
    },
    stop: async () => {
      clearInterval(discovery);
      await proc.stop();
    },
  };
}
