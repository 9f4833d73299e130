// The only module that reads process.env. Everything else receives a typed Config.
// parseConfig is pure so the operator can validate the config it renders for a pod
// with exactly the schema the server will apply.
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(1);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const csv = z
  .string()
  .optional()
  .transform((v) =>
    v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
  );

const JWT_ALGS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA',
] as const;

interface VarSpec {
  schema: z.ZodType;
  default?: string;
  help: string;
}

// One table drives validation, defaults and --help, so they cannot disagree.
export const CONFIG_VARS = {
  HOST: { schema: z.string().min(1), default: '0.0.0.0', help: 'address the HTTP/WebSocket server binds' },
  PORT: { schema: port, default: '8000', help: 'HTTP/WebSocket port (0 picks a free one)' },
  METRICS_HOST: { schema: z.string().min(1), default: '0.0.0.0', help: 'address the metrics server binds' },
  METRICS_PORT: { schema: port, default: '9464', help: 'Prometheus /metrics port, kept off the public port' },
  DATABASE_URL: {
    schema: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'a postgres:// or postgresql:// URL'),
    help: 'PostgreSQL URL; unset = embedded PostgreSQL under DATA_DIR',
  },
  DB_POOL_MAX: { schema: z.coerce.number().int().min(1).max(200), default: '10', help: 'PostgreSQL pool size' },
  DATA_DIR: { schema: z.string().min(1), default: '.data', help: 'embedded PostgreSQL data and the development JWT secret' },
  MIGRATE_ON_START: { schema: bool, default: 'true', help: 'apply migrations when serve starts (the operator sets false and runs a migrate Job)' },
  JWT_SECRET: {
    schema: optionalText.refine((v) => v === undefined || Buffer.byteLength(v) >= 32, 'at least 32 bytes'),
    help: 'HMAC secret (HS256/384/512)',
  },
  JWT_PUBLIC_KEY: {
    schema: optionalText.refine((v) => v === undefined || v.includes('-----BEGIN PUBLIC KEY-----'), 'a PEM "BEGIN PUBLIC KEY" block'),
    help: 'PEM public key (RSA, EC or Ed25519)',
  },
  JWT_JWKS_URL: {
    schema: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), 'an http(s) URL'),
    help: 'JWKS endpoint of your identity provider',
  },
  JWT_ISSUER: { schema: optionalText, help: 'required "iss" (dev mode: chat-backend-dev)' },
  JWT_AUDIENCE: { schema: optionalText, help: 'required "aud" (dev mode: chat-backend)' },
  JWT_ALGORITHMS: {
    schema: csv.refine((v) => v === undefined || v.every((a) => (JWT_ALGS as readonly string[]).includes(a)), `a comma list of ${JWT_ALGS.join(', ')}`),
    help: 'algorithm allow-list; default follows the key type',
  },
  JWT_CLOCK_TOLERANCE_S: { schema: z.coerce.number().int().min(0).max(300), default: '5', help: 'allowed clock skew for exp/nbf' },
  TOKEN_CACHE_SIZE: { schema: z.coerce.number().int().min(0).max(1_000_000), default: '10000', help: 'verified tokens kept (0 disables the cache)' },
  MAX_BODY_BYTES: { schema: z.coerce.number().int().min(1024), default: String(1024 * 1024), help: 'largest accepted request body' },
  HEALTH_DB_TIMEOUT_MS: { schema: positiveMs, default: '1000', help: '/health/full fails when the database takes longer' },
  SHUTDOWN_GRACE_MS: { schema: positiveMs, default: '10000', help: 'SIGTERM: time allowed for in-flight work before exit' },
  ALLOWED_ORIGINS: {
    schema: csv.refine((v) => v === undefined || v.every((o) => /^https?:\/\/[^/]+$/.test(o)), 'a comma list of origins like https://app.example.com (scheme://host[:port], no path)'),
    help: 'browser origins allowed to open WebSockets (exact match); unset = same host and localhost only',
  },
  AUTH_TIMEOUT_MS: { schema: positiveMs, default: '5000', help: 'a WebSocket must authenticate within this time' },
  HEARTBEAT_INTERVAL_MS: { schema: z.coerce.number().int().min(100), default: '30000', help: 'server ping interval; two missed pongs close the socket' },
  MAX_PENDING_PER_IP: { schema: z.coerce.number().int().min(1), default: '20', help: 'unauthenticated sockets allowed per client address' },
  MAX_CONNECTIONS_PER_USER: { schema: z.coerce.number().int().min(1), default: '50', help: 'open sockets per user on one replica' },
  WS_RATE_PER_SEC: { schema: z.coerce.number().min(0.1), default: '30', help: 'frames per second allowed per socket (token bucket refill)' },
  WS_RATE_BURST: { schema: z.coerce.number().int().min(1), default: '60', help: 'frames a socket may send in a burst' },
  USER_MESSAGE_RATE_PER_SEC: { schema: z.coerce.number().min(0.1), default: '10', help: 'chat messages per second per user across their sockets' },
  USER_MESSAGE_BURST: { schema: z.coerce.number().int().min(1), default: '30', help: 'chat messages a user may send in a burst' },
  WS_MAX_BUFFERED_BYTES: { schema: z.coerce.number().int().min(16384), default: String(1024 * 1024), help: 'output buffered for a slow reader before its socket is closed (1013, resumable)' },
  AGENT: { schema: z.enum(['builtin', 'none']), default: 'builtin', help: 'agent that answers each message; none = store and relay only (human chat)' },
  AGENT_TOKEN_DELAY_MS: { schema: z.coerce.number().int().min(0).max(5000), default: '15', help: 'pause between streamed answer tokens of the built-in agent' },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', help: 'pino log level' },
} satisfies Record<string, VarSpec>;

type Vars = typeof CONFIG_VARS;
type Raw = { [K in keyof Vars]: z.output<Vars[K]['schema']> };

export type JwtMode =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; pem: string }
  | { kind: 'jwks'; url: string }
  | { kind: 'development' };

export interface Config {
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  databaseUrl: string | undefined;
  dbPoolMax: number;
  dataDir: string;
  migrateOnStart: boolean;
  jwt: {
    mode: JwtMode;
    issuer: string | undefined;
    audience: string | undefined;
    algorithms: string[] | undefined;
    clockToleranceS: number;
    cacheSize: number;
  };
  maxBodyBytes: number;
  ws: {
    allowedOrigins: string[] | undefined;
    authTimeoutMs: number;
    heartbeatMs: number;
    maxPendingPerIp: number;
    maxConnectionsPerUser: number;
    ratePerSec: number;
    rateBurst: number;
    userMessageRatePerSec: number;
    userMessageBurst: number;
    maxBufferedBytes: number;
  };
  agent: { name: 'builtin' | 'none'; tokenDelayMs: number };
  healthDbTimeoutMs: number;
  shutdownGraceMs: number;
  logLevel: string;
}

export const DEV_ISSUER = 'chat-backend-dev';
export const DEV_AUDIENCE = 'chat-backend';

export type ParseResult = { ok: true; config: Config } | { ok: false; errors: string[] };

export function parseConfig(env: Record<string, string | undefined>): ParseResult {
  const errors: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_VARS) as [string, VarSpec][]) {
    const value = env[name] ?? spec.default;
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) raw[name] = parsed.data;
    else {
      const shown = value === undefined ? 'unset' : SECRET_VARS.has(name) ? '<redacted>' : JSON.stringify(value);
      errors.push(`${name}=${shown}: expected ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  const r = raw as Raw;
  const jwtSources = (['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const).filter((k) => r[k] !== undefined);
  if (jwtSources.length > 1) errors.push(`${jwtSources.join(', ')}: set only one JWT key source`);
  if (errors.length > 0) return { ok: false, errors };

  const mode: JwtMode = r.JWT_SECRET !== undefined ? { kind: 'secret', secret: r.JWT_SECRET }
    : r.JWT_PUBLIC_KEY !== undefined ? { kind: 'public-key', pem: r.JWT_PUBLIC_KEY }
    : r.JWT_JWKS_URL !== undefined ? { kind: 'jwks', url: r.JWT_JWKS_URL }
    : { kind: 'development' };
  const dev = mode.kind === 'development';
  return {
    ok: true,
    config: {
      host: r.HOST,
      port: r.PORT,
      metricsHost: r.METRICS_HOST,
      metricsPort: r.METRICS_PORT,
      databaseUrl: r.DATABASE_URL,
      dbPoolMax: r.DB_POOL_MAX,
      dataDir: r.DATA_DIR,
      migrateOnStart: r.MIGRATE_ON_START,
      jwt: {
        mode,
        issuer: r.JWT_ISSUER ?? (dev ? DEV_ISSUER : undefined),
        audience: r.JWT_AUDIENCE ?? (dev ? DEV_AUDIENCE : undefined),
        algorithms: r.JWT_ALGORITHMS,
        clockToleranceS: r.JWT_CLOCK_TOLERANCE_S,
        cacheSize: r.TOKEN_CACHE_SIZE,
      },
      maxBodyBytes: r.MAX_BODY_BYTES,
      ws: {
        allowedOrigins: r.ALLOWED_ORIGINS,
        authTimeoutMs: r.AUTH_TIMEOUT_MS,
        heartbeatMs: r.HEARTBEAT_INTERVAL_MS,
        maxPendingPerIp: r.MAX_PENDING_PER_IP,
        maxConnectionsPerUser: r.MAX_CONNECTIONS_PER_USER,
        ratePerSec: r.WS_RATE_PER_SEC,
        rateBurst: r.WS_RATE_BURST,
        userMessageRatePerSec: r.USER_MESSAGE_RATE_PER_SEC,
        userMessageBurst: r.USER_MESSAGE_BURST,
        maxBufferedBytes: r.WS_MAX_BUFFERED_BYTES,
      },
      agent: { name: r.AGENT, tokenDelayMs: r.AGENT_TOKEN_DELAY_MS },
      healthDbTimeoutMs: r.HEALTH_DB_TIMEOUT_MS,
      shutdownGraceMs: r.SHUTDOWN_GRACE_MS,
      logLevel: r.LOG_LEVEL,
    },
  };
}

// Values never echoed in errors: they may hold credentials.
const SECRET_VARS = new Set(['JWT_SECRET', 'DATABASE_URL']);

export function loadConfig(): ParseResult {
  return parseConfig(process.env);
}

export function configHelp(): string {
  const rows = Object.entries(CONFIG_VARS as Record<string, VarSpec>).map(
    ([name, spec]) => `  ${name.padEnd(22)} ${(spec.default ?? '(unset)').padEnd(10)} ${spec.help}`,
  );
  return ['Environment variables (name, default, meaning):', ...rows].join('\n');
}
