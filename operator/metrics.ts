// Every metric of the operator, on its own Registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    reconcileTotal: new Counter({ name: 'chatbackend_reconcile_total', help: 'Reconcile passes by result (success, requeue, error).', labelNames: ['result'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'chatbackend_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    reconcileErrors: new Counter({ name: 'chatbackend_reconcile_errors_total', help: 'Reconcile passes that failed with an error.', registers: [registry] }),
    queueDepth: new Gauge({ name: 'workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers: [registry] }),
    queueRetries: new Counter({ name: 'workqueue_retries_total', help: 'Keys requeued with backoff after a failure or conflict.', labelNames: ['name'], registers: [registry] }),
    leader: new Gauge({ name: 'chatbackend_operator_leader', help: '1 while this replica holds the leader Lease.', registers: [registry] }),
    readyReplicas: new Gauge({ name: 'chatbackend_ready_replicas', help: 'Ready server pods of each ChatBackend, as last reconciled.', labelNames: ['namespace', 'chatbackend'], registers: [registry] }),
    desiredReplicas: new Gauge({ name: 'chatbackend_desired_replicas', help: 'Server pods each ChatBackend asks for (spec.replicas, or the autoscaler minimum).', labelNames: ['namespace', 'chatbackend'], registers: [registry] }),
    schemaFailed: new Gauge({ name: 'chatbackend_schema_migration_failed', help: '1 while the latest schema Job of a ChatBackend has failed.', labelNames: ['namespace', 'chatbackend'], registers: [registry] }),
    informerRestarts: new Counter({ name: 'chatbackend_informer_restarts_total', help: 'Informers restarted after an error or a silence.', labelNames: ['kind', 'reason'], registers: [registry] }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
