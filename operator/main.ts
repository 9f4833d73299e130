// `chat-backend operator`: health and metrics servers, leader election, then the controller
// while this replica leads. Losing the Lease exits the process (as controller-runtime does),
// so a replica never keeps acting on stale leadership; Kubernetes restarts it as a candidate.
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { OperatorConfig } from '../src/config.js';
import { createLogger, errInfo } from '../src/log.js';
import { Controller } from './controller.js';
import { Kube } from './kube.js';
import { LeaderElector } from './lease.js';
import { OperatorLifecycle } from './lifecycle.js';
import { createOperatorMetrics } from './metrics.js';

export const LEASE_NAME = 'chat-backend-operator';

function listen(port: number, handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

export async function runOperator(cfg: OperatorConfig): Promise<void> {
  const log = createLogger(cfg.logLevel).child({ component: 'operator', identity: cfg.podName });
  const kc = new KubeConfig();
  kc.loadFromDefault(); // in-cluster service account, else KUBECONFIG
  const kube = new Kube(kc);
  const metrics = createOperatorMetrics();
  const controller = new Controller(kube, log, metrics, { namespaces: cfg.watchNamespaces, silenceMs: cfg.informerSilenceS * 1000 });
  const elector = cfg.leaderElect
    ? new LeaderElector(kube, { namespace: cfg.leaseNamespace, name: LEASE_NAME, identity: cfg.podName, durationS: cfg.leaseDurationS, renewS: cfg.leaseRenewS }, log)
    : undefined;
  const lifecycle = new OperatorLifecycle(controller, elector, metrics.leader, log, (code) => log.flush(() => process.exit(code)));

  const health = await listen(cfg.healthPort, (req, res) => {
    // Ready means able to act: the leader once its informers run, a standby always (it is
    // healthy and waiting), so a rollout of the operator is not blocked by the election.
    const ok = req.url === '/healthz' ? !lifecycle.stopping : req.url === '/readyz' ? !lifecycle.stopping && (lifecycle.started ? controller.synced : true) : undefined;
    if (ok === undefined) res.writeHead(404).end('not found\n');
    else res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  const metricsServer = await listen(cfg.metricsPort, (req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end('not found\n');
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(errInfo(err).err_message),
    );
  });
  log.info({ health_port: (health.address() as { port: number }).port, metrics_port: (metricsServer.address() as { port: number }).port }, 'operator listening');

  lifecycle.run();

  const stop = (signal: string) => {
    if (lifecycle.stopping) return;
    const done = lifecycle.stop(); // first, so that nothing claims leadership from here on
    log.info({ signal }, 'operator stopping');
    const hard = setTimeout(() => process.exit(1), 20_000);
    hard.unref();
    (async () => {
      await done;
      health.close();
      metricsServer.close();
    })().then(
      () => log.flush(() => process.exit(0)),
      (err: unknown) => {
        log.error(errInfo(err), 'operator stop failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
