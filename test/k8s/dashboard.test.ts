// The Grafana dashboard and the PrometheusRule query only metrics that really exist: every name
// is checked against a live scrape of the server and the operator's own registry output, and
// the rendered rules pass `promtool check rules`.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorMetrics } from '../../operator/metrics.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV } from '../helpers/tokens.js';
import { chartDir, helm, helmBinary } from './harness/helm.js';
import { CONTROL_PLANE_START_TIMEOUT_MS } from './harness/suite.js';

const run = promisify(execFile);
const dashboardPath = path.join(chartDir, 'dashboards/chat-backend.json');
const OUR_METRIC = /\b((?:chat|chatbackend|workqueue)_[a-z0-9_]+)\b/g;

/** Metric family names of a Prometheus text exposition (# TYPE lines). */
function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
}

/** The family a series name belongs to: histogram series carry _bucket, _count and _sum. */
function family(name: string, known: Set<string>): string {
  if (known.has(name)) return name;
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return base;
}

function exprsOfDashboard(): string[] {
  const dash = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

describe('Grafana dashboard and PrometheusRule', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let exported = new Set<string>();
  let renderedRules: { groups: { name: string; rules: { alert: string; expr: string }[] }[] };

  beforeAll(async () => {
    await helmBinary();
  }, CONTROL_PLANE_START_TIMEOUT_MS);

  beforeAll(async () => {
    database = await createMigratedDatabase('dash');
    server = await startServer({ ...AUTH_ENV, DATABASE_URL: database.url }, 'dashboard');
    const scrape = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    const operator = await createOperatorMetrics().registry.metrics();
    exported = new Set([...families(scrape), ...families(operator)]);
    const res = await helm(['template', 'chat', chartDir, '--set', 'metrics.prometheusRule.enabled=true', '--show-only', 'templates/prometheusrule.yaml']);
    expect(res.code, res.stderr).toBe(0);
    renderedRules = (parseYaml(res.stdout) as { spec: typeof renderedRules }).spec;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('has the panels the issue asks for', () => {
    const dash = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: { title: string }[] };
    const titles = dash.panels.map((p) => p.title);
    for (const t of ['Connect latency', 'Auth latency', 'Round-trip latency', 'Message ack latency', 'Connections by state', 'Auth failures by reason', 'Frames per second', 'Agent run duration', 'Agent first-token time', 'HTTP latency', 'HTTP errors', 'Database query latency', 'Bus publish and receive rate', 'Bus lag', 'Bus drops and link', 'Reconcile rate by result', 'Reconcile errors', 'Reconcile duration']) expect(titles).toContain(t);
    expect(exprsOfDashboard().some((e) => e.includes('histogram_quantile(0.99'))).toBe(true);
  });

  it('queries only metrics the server or the operator export', () => {
    const queried = new Set<string>();
    for (const expr of [...exprsOfDashboard(), ...renderedRules.groups.flatMap((g) => g.rules.map((r) => r.expr))]) {
      for (const m of expr.matchAll(OUR_METRIC)) queried.add(family(m[1]!, exported));
    }
    expect(queried.size).toBeGreaterThan(15);
    const unknown = [...queried].filter((n) => !exported.has(n));
    expect(unknown, `exported: ${[...exported].filter((n) => /^(chat|chatbackend|workqueue)_/.test(n)).join(', ')}`).toEqual([]);
  });

  it('alerts on auth failures, slow round-trips, no ready replicas, reconcile errors and failed migrations', () => {
    const alerts = renderedRules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(expect.arrayContaining(['ChatBackendAuthFailureRatio', 'ChatBackendRoundTripSlow', 'ChatBackendNoReadyReplicas', 'ChatBackendReconcileErrors', 'ChatBackendSchemaMigrationFailed']));
  });

  it('passes promtool check rules', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-rules-'));
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, JSON.stringify(renderedRules));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toContain('SUCCESS');
  });
});
