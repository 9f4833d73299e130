#!/usr/bin/env node
// CLI and composition root: chat-backend serve | migrate | token | --help.
// Exit codes: 0 ok, 1 runtime or configuration failure, 2 usage error.
import { parseArgs } from 'node:util';
import { signingSecret, signToken } from './auth/dev-token.js';
import { configHelp, loadConfig, loadOperatorConfig, type Config } from './config.js';
import { loadMigrations, migrate, MigrationError } from './db/migrate.js';
import { createLogger, errInfo, type Logger } from './log.js';
import { openDatabase, startServer } from './server.js';
import { VERSION } from './version.js';

const USAGE = `chat-backend ${VERSION}

Usage: chat-backend <command> [options]

Commands:
  serve                 run the HTTP/WebSocket server (default)
  migrate               apply database migrations, then verify the schema
  operator              reconcile ChatBackend resources (OPERATOR_* variables)
  token --sub USER      print a signed token (JWT_SECRET or the development secret)
        [--ttl SECONDS] [--claim key=value ...]
  help, --help          this text

`;

function config(): Config {
  const parsed = loadConfig();
  if (!parsed.ok) {
    process.stderr.write(`chat-backend: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n\nRun "chat-backend --help" for every variable and its default.\n`);
    process.exit(1);
  }
  return parsed.config;
}

async function serve(): Promise<void> {
  const cfg = config();
  const log = createLogger(cfg.logLevel);
  const server = await startServer(cfg, log);
  if (server.devSecret !== undefined) {
    // The banner is for the developer at the terminal, on stderr and outside the JSON log.
    const token = await signToken(cfg.jwt, server.devSecret, { sub: 'demo', ttlSeconds: 7 * 24 * 3600 });
    const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? 'localhost' : cfg.host;
    process.stderr.write(
      `\n  chat-backend is running in DEVELOPMENT MODE\n  URL:          http://${host}:${server.port}/\n  API docs:     http://${host}:${server.port}/api/docs\n  Metrics:      http://${host}:${server.metricsPort}/metrics\n  Demo token (user "demo", 7 days):\n    ${token}\n  Try: curl -H "Authorization: Bearer <token>" http://${host}:${server.port}/api/v1/conversations\n\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const hard = setTimeout(() => {
      log.error({ grace_ms: cfg.shutdownGraceMs }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, cfg.shutdownGraceMs + 2000);
    hard.unref();
    server.shutdown().then(
      () => log.flush(() => process.exit(0)),
      (err: unknown) => {
        log.error(errInfo(err), 'shutdown failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function runMigrate(log: Logger): Promise<number> {
  const cfg = config();
  const { db, embedded } = await openDatabase(cfg, log, undefined, { joinRunning: true });
  try {
    const result = await migrate(db, await loadMigrations());
    log.info({ applied: result.applied, already_applied: result.alreadyApplied }, 'migrations done');
    if (result.missing.length > 0) {
      process.stderr.write(`chat-backend migrate: schema verification failed; missing relations: ${result.missing.join(', ')}\n`);
      return 1;
    }
    process.stdout.write(`schema ok: ${result.applied.length} applied, ${result.alreadyApplied} already applied, all expected relations present\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof MigrationError)) throw err;
    process.stderr.write(`chat-backend migrate: ${err.message}\n`);
    return 1;
  } finally {
    await db.end();
    await embedded?.stop();
  }
}

async function runToken(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { sub: { type: 'string' }, ttl: { type: 'string', default: '3600' }, claim: { type: 'string', multiple: true } },
    strict: true,
  });
  const ttl = Number(values.ttl);
  if (values.sub === undefined || values.sub === '' || !Number.isInteger(ttl) || ttl <= 0) {
    process.stderr.write('usage: chat-backend token --sub USER [--ttl SECONDS (positive integer)] [--claim key=value ...]\n');
    return 2;
  }
  const claims: Record<string, unknown> = {};
  for (const c of values.claim ?? []) {
    const i = c.indexOf('=');
    if (i <= 0) {
      process.stderr.write(`--claim ${JSON.stringify(c)}: expected key=value\n`);
      return 2;
    }
    claims[c.slice(0, i)] = c.slice(i + 1);
  }
  const cfg = config();
  const token = await signToken(cfg.jwt, await signingSecret(cfg), { sub: values.sub, ttlSeconds: ttl, claims });
  process.stdout.write(token + '\n');
  return 0;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'help': case '--help': case '-h':
      process.stdout.write(USAGE + configHelp() + '\n');
      return;
    case '--version':
      process.stdout.write(VERSION + '\n');
      return;
    case 'serve':
      if (rest.includes('--help')) {
        process.stdout.write(USAGE + configHelp() + '\n');
        return;
      }
      return serve();
    case 'migrate':
      process.exitCode = await runMigrate(createLogger(config().logLevel));
      return;
    case 'token':
      process.exitCode = await runToken(rest);
      return;
    case 'operator': {
      const parsed = loadOperatorConfig();
      if (!parsed.ok) {
        process.stderr.write(`chat-backend operator: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n`);
        process.exitCode = 1;
        return;
      }
      // Loaded lazily: serve and migrate never pay for the Kubernetes client.
      const { runOperator } = await import('../operator/main.js');
      return runOperator(parsed.config);
    }
    default:
      process.stderr.write(`chat-backend: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

// Last resort: a failure nothing handled leaves the process in an unknown state, so it is
// logged with its stack and where it came from, and the process exits for its supervisor
// to restart it. Dependency failures (the database going away) must never get here.
const fatal = (kind: string) => (err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`chat-backend: ${kind}: ${e.message}\n${e.stack ?? ''}\n`);
  process.exit(1);
};
process.on('uncaughtException', fatal('uncaught exception'));
process.on('unhandledRejection', fatal('unhandled rejection'));

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`chat-backend: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
