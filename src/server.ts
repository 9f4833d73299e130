// Composition of the serve role: config → database → auth → core → transport, plus the
// ordered shutdown that SIGTERM triggers.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ResponseCache } from './agent/cache/response-cache.js';
import { schedulePurge } from './agent/cache/purge.js';
import { builtinTools, createAgent } from './agent/index.js';
import { searchDocumentsTool } from './agent/tools/documents.js';
import { createEmbedder } from './agent/embeddings/setup.js';
import { DocumentService } from './agent/embeddings/document-service.js';
import { approvalRoutes } from './api/approval-routes.js';
import { cacheRoutes } from './api/cache-routes.js';
import { documentRoutes } from './api/document-routes.js';
import { conversationRoutes } from './api/conversation-routes.js';
import type { Route } from './api/route.js';
import { systemRoutes } from './api/system-routes.js';
import { uiStreamRoutes } from './api/ui-stream-routes.js';
import { webRoutes } from './api/web-routes.js';
import { loadOrCreateDevSecret } from './auth/dev-token.js';
import { createVerifier, type Verifier } from './auth/verifier.js';
import type { Config } from './config.js';
import { Approvals } from './core/approvals.js';
import { Hub } from './core/hub.js';
import { Gateway } from './core/gateway.js';
import { RunManager } from './core/runs.js';
import { publishConversationDeleted, publishInterrupted } from './core/run-frames.js';
import { ConversationService } from './core/conversations.js';
import { UiChat } from './core/ui-chat.js';
import { Inflight } from './core/inflight.js';
import { approvalStore } from './db/approval-store.js';
import { cacheAdminStore, responseCacheStore } from './db/cache-store.js';
import { createDb, type Db } from './db/client.js';
import { conversationStore } from './db/conversation-store.js';
import { documentStore } from './db/document-store.js';
import { resolveVectorMode } from './db/vector-setup.js';
import { createPgBus } from './db/pg-bus.js';
import { createNatsBus } from './bus/nats-bus.js';
import { gatewayStore, runStore } from './db/realtime-store.js';
import { uiChatStore } from './db/ui-chat-store.js';
import { startRunnerLease, type Interrupted } from './db/runner-lease.js';
import { answersNotStreaming } from './db/answers.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { DataDirInUse } from './db/data-dir-lock.js';
import { assertSessionPooling } from './db/pooler-check.js';
import { appliedVersion, latestVersion, loadMigrations, migrate } from './db/migrate.js';
import { errInfo, type Logger } from './log.js';
import { busMetrics, createMetrics, type Metrics } from './metrics/metrics.js';
import { mountHttp } from './transport/http.js';
import { listen } from './transport/listen.js';
import { startMetricsServer } from './transport/metrics-server.js';
import { mountWs } from './transport/ws.js';
import { loadUws } from './transport/uws.js';
import { VERSION } from './version.js';
import { Closers } from './closers.js';

export interface RunningServer {
  port: number;
  metricsPort: number;
  db: Db;
  metrics: Metrics;
  verifier: Verifier;
  devSecret: string | undefined;
  shutdown(): Promise<{ drained: boolean }>;
}

// The database the server uses: DATABASE_URL, else a private PostgreSQL under DATA_DIR.
// joinRunning (migrate): when a server already runs the embedded PostgreSQL of DATA_DIR,
// use that one instead of refusing.
export async function openDatabase(config: Config, log: Logger, metrics?: Metrics, opts: { joinRunning?: boolean } = {}): Promise<{ db: Db; url: string; embedded?: EmbeddedPostgres }> {
  let url = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  if (url === undefined) {
    const dir = path.join(config.dataDir, 'postgres');
    log.info({ dir }, 'DATABASE_URL not set: starting embedded PostgreSQL');
    try {
      embedded = await startEmbeddedPostgres({ dir, onLog: (l) => log.debug({ pg: l.trim().slice(0, 500) }, 'postgres') });
      url = embedded.url;
    } catch (err) {
      if (!(opts.joinRunning && err instanceof DataDirInUse && err.owner.url !== '')) throw err;
      log.info({ pid: err.owner.pid }, 'DATA_DIR is served by a running server: using its PostgreSQL');
      url = err.owner.url;
    }
  }
  const db = createDb(url, { max: config.dbPoolMax, metrics, maxLifetimeS: config.dbMaxLifetimeS });
  return { db, url, embedded };
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const closers = new Closers();
  try {
    return await start(config, log, closers);
  } catch (err) {
    await closers.closeAll(log);
    throw err;
  }
}

// Every step that opens something registers its release right away, so a failure at any
// later step releases it (startServer), and shutdown ends by releasing all of it.
async function start(config: Config, log: Logger, closers: Closers): Promise<RunningServer> {
  const uws = loadUws(); // fail before touching the database if the native binary is missing
  const metrics = createMetrics();
  const replicaId = randomUUID();
  // Connected first: a wrong NATS_URL or credential file fails start before anything else exists.
  const natsBus = config.bus.kind === 'nats' ? await createNatsBus({ cfg: config.bus.nats, replicaId, log, metrics: busMetrics(metrics, 'nats') }) : undefined;
  if (natsBus) closers.add('NATS bus', () => natsBus.close());
  // Before anything takes a session lock: behind transaction pooling it would be nobody's.
  if (config.databaseUrl !== undefined) await assertSessionPooling(config.databaseUrl);
  const { db, url, embedded } = await openDatabase(config, log, metrics);
  if (embedded) closers.add('embedded PostgreSQL', () => embedded.stop());
  // shutdown sets how long the pool may take to close (the rest of its grace period)
  let dbCloseS: number | undefined;
  closers.add('database pool', () => db.end(dbCloseS));
  const migrations = await loadMigrations();
  if (config.migrateOnStart) {
    const result = await migrate(db, migrations);
    if (result.applied.length > 0) log.info({ applied: result.applied }, 'migrations applied');
    if (result.missing.length > 0) throw new Error(`schema is missing relations: ${result.missing.join(', ')}`);
  }

  let devSecret: string | undefined;
  if (config.jwt.mode.kind === 'development') {
    devSecret = await loadOrCreateDevSecret(config.dataDir);
    log.warn(
      { data_dir: config.dataDir },
      '!!! DEVELOPMENT MODE: no JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL is set; tokens are signed with a generated secret kept under DATA_DIR. Never expose this server. !!!',
    );
  }
  const verifier = createVerifier(config.jwt, devSecret);

  let draining = false;
  const inflight = new Inflight();
  const bus = natsBus ?? await createPgBus(url, db, log, replicaId, { metrics: busMetrics(metrics, 'postgres'), lingerMs: config.bus.kind === 'postgres' ? config.bus.lingerMs : 0 });
  if (!natsBus) closers.add('PostgreSQL bus', () => bus.close());
  const hub = new Hub(bus);
  const interrupted = (rows: Interrupted[]) => publishInterrupted(bus, rows);
  let runs: RunManager | undefined;
  const lease = await startRunnerLease(url, db, log, {
    onInterrupted: interrupted,
    // Our lock was lost with its connection: answers another replica swept meanwhile stop here.
    onRetaken: async () => {
      if (!runs) return;
      const gone = await answersNotStreaming(db, runs.localAnswers());
      if (gone.length > 0) log.warn({ answers: gone.length }, 'answers of this server were marked interrupted by another replica; stopping them');
      runs.abandon(gone.map((g) => g.id));
    },
  }, { sweepMs: config.runnerSweepMs });
  closers.add('runner lease', () => lease.stop().catch((err: unknown) => log.warn({ err_message: (err as Error).message }, 'releasing the runner lease failed')));
  // Answers left streaming by a crash of a previous run. Best effort: with the schema not
  // migrated yet the server must still start and report it on /health/full; the periodic
  // sweep repeats this.
  await lease.sweep().then(interrupted, (err: unknown) => log.warn({ err_message: (err as Error).message }, 'start-up sweep of interrupted answers failed'));
  const embedder = createEmbedder(config.embeddings);
  const documents = new DocumentService({ store: documentStore(db, await resolveVectorMode(db, embedder, log)), embedder, maxBytes: config.documentMaxBytes, log });
  const cacheDefaults = { enabled: config.cache.enabled, ttlSeconds: config.cache.ttlS, maxEntries: config.cache.maxEntries };
  const cacheAdmin = cacheAdminStore(db);
  const cache = new ResponseCache({
    store: responseCacheStore(db), metrics,
    defaults: cacheDefaults,
    onError: (err, what) => log.warn({ what, ...errInfo(err) }, 'response cache storage failed; calling the model'),
  });
  closers.add('response cache counts', () => cache.close());
  const purge = schedulePurge(() => cacheAdmin.purgeExpired(), config.cache.purgeIntervalS * 1000, log);
  closers.add('cache purge', () => purge.stop());
  const tools = [...builtinTools, searchDocumentsTool((user, conv, q, limit) => documents.search(user, q, limit, conv))];
  const agent = config.agent.name === 'openai'
    ? createAgent('openai', { ...config.llm, tools, cache, metrics })
    : createAgent('builtin', { tokenDelayMs: config.agent.tokenDelayMs, tools });
  const approvals = new Approvals({ store: approvalStore(db), bus, cfg: config.approvals, log });
  runs = new RunManager({ store: runStore(db, lease), agent, bus, hub, log, metrics, approvals });
  approvals.onOrphanDecision((conv, userId, afterSeq) => runs!.submit(conv, userId, afterSeq));
  const approvalSweep = approvals.startSweep();
  closers.add('approval sweep', () => approvalSweep.stop());
  const gateway = new Gateway({ cfg: config.ws, verifier, hub, bus, runs, store: gatewayStore(db, Math.max(500, config.ws.authTimeoutMs / 2)), metrics, log, inflight, autoRun: config.agent.name !== 'none', approvals });
  gateway.start();
  closers.add('gateway ticker', () => gateway.stop());
  const svc = new ConversationService(conversationStore(db), (id) => publishConversationDeleted(bus, id));
  const api = conversationRoutes(svc);
  const routes: Route[] = [
    ...webRoutes({ jwt: config.jwt, devSecret, version: VERSION, log }), // the demo page at / replaces the landing page
    ...systemRoutes(
      { schemaVersion: () => appliedVersion(db), expectedVersion: latestVersion(migrations), timeoutMs: config.healthDbTimeoutMs, isDraining: () => draining },
      () => routes,
      VERSION,
    ),
    ...api,
    ...cacheRoutes(cacheAdmin, cacheDefaults, config.admin),
    ...documentRoutes(documents),
    ...approvalRoutes(approvals),
    ...uiStreamRoutes(new UiChat({ store: uiChatStore(db), runs, hub, bus, log, autoRun: config.agent.name !== 'none' })),
  ];
  const app = uws.App();
  mountWs(app, gateway, { allowedOrigins: config.ws.allowedOrigins, trustedProxies: config.ws.trustedProxies, maxBufferedBytes: config.ws.maxBufferedBytes, devMode: config.jwt.mode.kind === 'development' }, log);
  mountHttp(app, routes, { verifier, log, metrics, maxBodyBytes: config.maxBodyBytes, inflight });

  const http = await listen(app, config.host, config.port, 'HTTP');
  closers.add('HTTP listener', () => http.close());
  const metricsServer = await startMetricsServer(metrics.registry, config.metricsHost, config.metricsPort, log);
  closers.add('metrics listener', () => metricsServer.close());
  log.info({ port: http.port, metrics_port: metricsServer.port, version: VERSION }, 'listening');

  let shutdownOnce: Promise<{ drained: boolean }> | undefined;
  const shutdown = () => (shutdownOnce ??= (async () => {
    draining = true;
    purge.stop();
    approvalSweep.stop();
    metrics.draining.set(1);
    const started = Date.now();
    log.info({ inflight: inflight.size, sockets: gateway.size, grace_ms: config.shutdownGraceMs }, 'draining');
    // Keep a margin of the grace period for closing the pool and the database.
    const budget = Math.max(0, config.shutdownGraceMs - 1000);
    await gateway.drain(budget / 2);
    const drained = await inflight.idle(Math.max(0, budget - (Date.now() - started)));
    // listeners, timers, the runner lease, the bus, the pool, PostgreSQL: newest first
    dbCloseS = Math.min(5, Math.max(1, config.shutdownGraceMs - (Date.now() - started)) / 1000);
    await closers.closeAll(log);
    log.info({ drained, ms: Date.now() - started }, 'stopped');
    return { drained };
  })());

  return { port: http.port, metricsPort: metricsServer.port, db, metrics, verifier, devSecret, shutdown };
}
