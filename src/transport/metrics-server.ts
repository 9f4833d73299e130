// Prometheus endpoint on its own port, so an ingress for the public port never exposes it.
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import { listen, type Listener } from './listen.js';
import { loadUws } from './uws.js';

export async function startMetricsServer(registry: Registry, host: string, port: number, log: Logger): Promise<Listener> {
  const app = loadUws().App();
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    registry.metrics().then(
      (text) => { if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', registry.contentType).end(text)); },
      (err: unknown) => {
        log.error(errInfo(err), 'metrics collection failed');
        if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end('metrics collection failed'));
      },
    );
  });
  app.any('/*', (res) => { res.writeStatus('404 Not Found').end('only /metrics here'); });
  return listen(app, host, port, 'metrics');
}
