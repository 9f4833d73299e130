// parseOperatorConfig: the OPERATOR_* variables the chart sets, their defaults and their errors.
import { describe, expect, it } from 'vitest';
import { parseOperatorConfig } from '../src/config.js';

describe('parseOperatorConfig', () => {
  it('applies defaults, with the Lease in the pod namespace', () => {
    const r = parseOperatorConfig({ POD_NAMESPACE: 'ops' }, 'host-1');
    expect(r).toEqual({
      ok: true,
      config: { podName: 'host-1', podNamespace: 'ops', logLevel: 'info', watchNamespaces: [], leaderElect: true, leaseNamespace: 'ops', leaseDurationS: 15, leaseRenewS: 2, informerSilenceS: 600, healthPort: 8081, metricsPort: 8080 },
    });
  });

  it('reads what the chart passes (empty strings mean unset)', () => {
    const r = parseOperatorConfig({ POD_NAME: 'op-0', POD_NAMESPACE: 'ops', OPERATOR_WATCH_NAMESPACES: 'a, b,', OPERATOR_LEADER_ELECT: 'false', OPERATOR_LEASE_NAMESPACE: '', OPERATOR_HEALTH_PORT: '9000', OPERATOR_METRICS_PORT: '9001' });
    expect(r.ok && r.config).toMatchObject({ podName: 'op-0', watchNamespaces: ['a', 'b'], leaderElect: false, leaseNamespace: 'ops', healthPort: 9000, metricsPort: 9001 });
  });

  it('reports every bad value', () => {
    const r = parseOperatorConfig({ OPERATOR_LEADER_ELECT: 'maybe', OPERATOR_HEALTH_PORT: '70000' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(/OPERATOR_LEADER_ELECT[\s\S]*OPERATOR_HEALTH_PORT|OPERATOR_HEALTH_PORT[\s\S]*OPERATOR_LEADER_ELECT/);
    expect(parseOperatorConfig({ OPERATOR_LEASE_DURATION_S: '5', OPERATOR_LEASE_RENEW_S: '5' }).ok).toBe(false);
  });
});
