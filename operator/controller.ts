// Event sources and workers: informers on ChatBackends, on every kind the operator owns and on
// Secrets feed a work queue keyed by ChatBackend. An informer that errors is restarted with
// backoff, one that has been silent too long is restarted (which relists), and every key is
// resynced periodically.
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import { errInfo, type Logger } from '../src/log.js';
import { API_VERSION, KIND, PLURAL } from './api.js';
import { MANAGED_BY } from './builders/common.js';
import { errorMessage, statusCode } from './kube.js';
import type { KubeApi } from './kube-api.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { reconcile } from './reconcile.js';
import { referencedSecretNames, SecretIndex } from './secret-index.js';

type Event = 'add' | 'update' | 'delete';

const OWNED = [
  { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers' },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', plural: 'servicemonitors' },
];

export interface ControllerOptions {
  namespaces: string[]; // empty: all
  workers?: number;
  /** An informer with no event (not even a reconnect) for this long is restarted. */
  silenceMs?: number;
  resyncMs?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly stops: (() => Promise<void>)[] = [];
  private readonly known = new Set<string>();
  private readonly secrets = new SecretIndex();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  synced = false;

  constructor(private readonly kube: KubeApi, private readonly log: Logger, private readonly metrics: OperatorMetrics, private readonly opts: ControllerOptions) {
    this.queue = new WorkQueue((key) => this.process(key), {
      workers: opts.workers ?? 2,
      onDepth: (d) => metrics.queueDepth.set({ name: 'chatbackend' }, d),
      onRetry: () => metrics.queueRetries.inc({ name: 'chatbackend' }),
    });
  }

  async start(): Promise<void> {
    const scopes = this.opts.namespaces.length === 0 ? [undefined] : this.opts.namespaces;
    const monitoring = await this.kube.serves('monitoring.coreos.com/v1', 'ServiceMonitor');
    // A SIGTERM during that call has already run stop(), which found nothing to stop yet.
    if (this.stopped) return;
    for (const ns of scopes) {
      this.watch(KIND, ns, this.kube.informer(API_VERSION, KIND, PLURAL, ns), (o, event) => this.onChatBackend(o as KubernetesObject & { spec?: unknown }, event));
      for (const kind of OWNED) {
        if (kind.kind === 'ServiceMonitor' && !monitoring) continue; // prometheus-operator not installed
        this.watch(kind.kind, ns, this.kube.informer(kind.apiVersion, kind.kind, kind.plural, ns, `app.kubernetes.io/managed-by=${MANAGED_BY}`), (o) => {
          const owner = o.metadata?.ownerReferences?.find((r) => r.kind === KIND && r.apiVersion === API_VERSION);
          if (owner) this.enqueue(o.metadata?.namespace, owner.name);
        });
      }
      // A changed, created or deleted Secret queues only the ChatBackends that reference it.
      this.watch('Secret', ns, this.kube.secretInformer(ns), (o) => {
        const { namespace, name } = o.metadata ?? {};
        if (namespace === undefined || name === undefined) return;
        for (const key of this.secrets.referencing(namespace, name)) this.queue.add(key);
      });
    }
    this.queue.start();
    const resync = setInterval(() => {
      for (const key of this.known) this.queue.add(key);
    }, this.opts.resyncMs ?? 5 * 60_000);
    resync.unref();
    this.timers.push(resync);
    this.synced = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.stops.map((s) => s()));
    await this.queue.stop();
  }

  private onChatBackend(o: KubernetesObject & { spec?: unknown }, event: Event): void {
    const { namespace, name } = o.metadata ?? {};
    if (namespace === undefined || name === undefined) return;
    const key = `${namespace}/${name}`;
    if (event === 'delete') this.secrets.delete(key);
    else this.secrets.set(key, namespace, referencedSecretNames(o.spec));
    this.enqueue(namespace, name);
  }

  private enqueue(namespace: string | undefined, name: string | undefined): void {
    if (namespace === undefined || name === undefined) return;
    const key = `${namespace}/${name}`;
    this.known.add(key);
    this.queue.add(key);
  }

  private async process(key: string): Promise<{ requeueAfterMs?: number }> {
    const [namespace, name] = key.split('/') as [string, string];
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      const labels = { namespace, chatbackend: name };
      const outcome = await reconcile(this.kube, namespace, name, this.log, (o) => {
        if (o.gone) {
          this.known.delete(key);
          this.metrics.readyReplicas.remove(labels);
          this.metrics.desiredReplicas.remove(labels);
          this.metrics.schemaFailed.remove(labels);
          return;
        }
        this.metrics.readyReplicas.set(labels, o.readyReplicas);
        this.metrics.desiredReplicas.set(labels, o.desiredReplicas);
        this.metrics.schemaFailed.set(labels, o.schemaFailed ? 1 : 0);
      });
      this.metrics.reconcileTotal.inc({ result: outcome.requeueAfterMs !== undefined ? 'requeue' : 'success' });
      return outcome;
    } catch (err) {
      const conflict = statusCode(err) === 409;
      this.metrics.reconcileTotal.inc({ result: conflict ? 'conflict' : 'error' });
      if (!conflict) this.metrics.reconcileErrors.inc();
      this.log[conflict ? 'info' : 'error']({ key, ...errInfo(err), detail: errorMessage(err) }, conflict ? 'conflict; requeued' : 'reconcile failed; requeued with backoff');
      throw err; // the queue retries with backoff
    } finally {
      end();
    }
  }

  private watch(kind: string, namespace: string | undefined, informer: Informer<KubernetesObject>, onObject: (o: KubernetesObject, event: Event) => void): void {
    let lastSeen = Date.now();
    let failures = 0;
    let stopped = false;
    const seen = (event: Event) => (o: KubernetesObject) => {
      lastSeen = Date.now();
      failures = 0;
      onObject(o, event);
    };
    informer.on('add', seen('add'));
    informer.on('update', seen('update'));
    informer.on('delete', seen('delete'));
    informer.on('connect', () => {
      lastSeen = Date.now();
    });
    const restart = (reason: string) => {
      if (stopped) return;
      this.metrics.informerRestarts.inc({ kind, reason });
      informer.stop().then(
        () => informer.start(),
        (err: unknown) => this.log.warn({ kind, ...errInfo(err) }, 'informer stop failed'),
      ).catch((err: unknown) => {
        this.log.warn({ kind, ...errInfo(err) }, 'informer restart failed; retrying');
        setTimeout(() => restart('error'), 5000).unref();
      });
    };
    informer.on('error', (err: unknown) => {
      if (stopped) return; // stopping aborts the watch; nothing to restart
      failures++;
      const delay = Math.min(500 * 2 ** failures, 30_000);
      this.log.warn({ kind, namespace, delay_ms: delay, status: statusCode(err), detail: errorMessage(err) }, 'informer error; restarting');
      setTimeout(() => restart('error'), delay).unref();
    });
    const silence = this.opts.silenceMs ?? 10 * 60_000;
    const check = setInterval(() => {
      if (Date.now() - lastSeen > silence) {
        lastSeen = Date.now();
        this.log.info({ kind, namespace }, 'informer silent too long; restarting');
        restart('silence');
      }
    }, Math.min(silence / 2, 30_000));
    check.unref();
    this.timers.push(check);
    this.stops.push(async () => {
      stopped = true;
      await informer.stop();
    });
    informer.start().catch((err: unknown) => {
      this.log.warn({ kind, detail: errorMessage(err) }, 'informer start failed; retrying');
      setTimeout(() => restart('error'), 2000).unref();
    });
  }
}
