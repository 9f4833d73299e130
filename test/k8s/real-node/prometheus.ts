// Debian's Prometheus against the real node, configured the way the chart tells a Prometheus
// to scrape: the operator through the chart's ServiceMonitor (its selector and endpoint
// translated into a kubernetes_sd_configs `endpoints` job, labelled as prometheus-operator
// does: job = the Service's name, plus namespace, service and pod), the server pods through
// the `prometheus.io/*` annotations the operator puts on them (a `pod` job). Service
// discovery asks the suite's API server with its admin kubeconfig; pod IPs are routed from the
// host. The chart's PrometheusRule groups are loaded as a rule file, expressions unchanged.
// Only the timing is the test's: 2 s scrapes and evaluations, and every rule's `for` cut to
// FOR_IN_TEST, so an alert fires and resolves within seconds of its fault.
import { mkdir, writeFile } from 'node:fs/promises';
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
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path?: string }[] };
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

/** A ServiceMonitor as a Prometheus scrape job, the way prometheus-operator generates it. */
export function serviceMonitorJob(sm: ServiceMonitor, kubeconfig: string): Record<string, unknown>[] {
  return sm.spec.endpoints.map((ep, i) => ({
    job_name: `serviceMonitor/${sm.metadata.namespace}/${sm.metadata.name}/${i}`,
    scrape_interval: INTERVAL,
    metrics_path: ep.path ?? '/metrics',
    kubernetes_sd_configs: [{ role: 'endpoints', kubeconfig_file: kubeconfig, namespaces: { names: [sm.metadata.namespace] } }],
    relabel_configs: [
      ...Object.entries(sm.spec.selector.matchLabels).map(([k, v]) => ({ source_labels: [`__meta_kubernetes_service_label_${sanitize(k)}`], regex: v, action: 'keep' })),
      { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: ep.port, action: 'keep' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
    ],
  }));
}

/** Pods that ask to be scraped with the `prometheus.io/scrape|port|path` annotations. */
export function annotatedPodsJob(kubeconfig: string): Record<string, unknown> {
  return {
    job_name: 'kubernetes-pods',
    scrape_interval: INTERVAL,
    kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfig }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__' },
      { source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'], regex: '(.+);(\\d+)', replacement: '$1:$2', target_label: '__address__' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    ],
  };
}

export async function startPrometheus(cluster: RealCluster, release: string, namespace: string): Promise<Prometheus> {
  const dir = path.join(cluster.dirs.runDir, 'prometheus');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const sm = (await render(release, namespace, 'templates/servicemonitor.yaml', 'metrics.serviceMonitor.enabled=true')) as ServiceMonitor;
  const rule = (await render(release, namespace, 'templates/prometheusrule.yaml', 'metrics.prometheusRule.enabled=true')) as { spec: { groups: RuleGroup[] } };
  const groups = rule.spec.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.for ? { ...r, for: FOR_IN_TEST } : r)) }));
  await writeFile(path.join(dir, 'rules.yaml'), YAML.stringify({ groups }));
  const config = {
    global: { scrape_interval: INTERVAL, scrape_timeout: INTERVAL, evaluation_interval: INTERVAL },
    rule_files: [path.join(dir, 'rules.yaml')],
    scrape_configs: [...serviceMonitorJob(sm, cluster.kubeconfigPath), annotatedPodsJob(cluster.kubeconfigPath)],
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
  await waitFor('prometheus ready', 60_000, async () => {
    if (exited) throw new Error(exited);
    return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
  }, 250);
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
    stop: () => proc.stop(),
  };
}
