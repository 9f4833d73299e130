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
  AGENT: { schema: z.enum(['builtin', 'openai', 'none']), default: 'builtin', help: 'agent that answers each message: builtin (offline), openai (LLM_* server), none = store and relay only' },
  LLM_PROVIDER: { schema: z.enum(['builtin', 'openai', 'none']).optional(), help: 'same as AGENT and wins over it; openai = an OpenAI-compatible chat-completions server' },
  LLM_BASE_URL: {
    schema: z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL such as https://api.openai.com/v1'),
    default: 'https://api.openai.com/v1',
    help: 'OpenAI-compatible API base (vLLM, Ollama, llama.cpp server, LM Studio: their /v1 URL)',
  },
  LLM_API_KEY: { schema: optionalText, help: 'bearer key for LLM_BASE_URL (never logged)' },
  LLM_MODEL: { schema: optionalText, help: 'model name sent to the server; required when the provider is openai' },
  LLM_CONNECT_TIMEOUT_MS: { schema: positiveMs, default: '5000', help: 'time to connect to the model server' },
  LLM_FIRST_TOKEN_TIMEOUT_MS: { schema: positiveMs, default: '60000', help: 'time from connect to the first streamed byte' },
  LLM_IDLE_TIMEOUT_MS: { schema: positiveMs, default: '30000', help: 'longest silence between streamed chunks' },
  LLM_MAX_RETRIES: { schema: z.coerce.number().int().min(0).max(10), default: '2', help: 'retries of 429/5xx/refused connections, before the first token only' },
  LLM_RETRY_BASE_MS: { schema: z.coerce.number().int().min(0).max(60000), default: '500', help: 'first retry backoff, doubled each time (Retry-After wins)' },
  LLM_MAX_STEPS: { schema: z.coerce.number().int().min(1).max(50), default: '6', help: 'model calls per run; the last one must answer without tools' },
  CACHE_ENABLED: { schema: bool, default: 'true', help: 'response cache for models without a cache_config row' },
  CACHE_TTL_S: { schema: z.coerce.number().int().min(1), default: '86400', help: 'cache entry lifetime for models without a cache_config row' },
  CACHE_MAX_ENTRIES: { schema: z.coerce.number().int().min(1), default: '10000', help: 'cache entries kept per model without a cache_config row (oldest go first)' },
  CACHE_PURGE_INTERVAL_S: { schema: z.coerce.number().int().min(1), default: '300', help: 'how often expired cache entries are deleted' },
  ADMIN_CLAIM: { schema: z.string().min(1), default: 'roles', help: 'JWT claim that grants admin endpoints (/api/v1/cache/stats)' },
  ADMIN_ROLE: { schema: z.string().min(1), default: 'admin', help: 'value of ADMIN_CLAIM (a string, or one element of an array) that means admin' },
  DOCUMENT_MAX_BYTES: { schema: z.coerce.number().int().min(1), default: String(512 * 1024), help: 'largest document content accepted (413 beyond)' },
  EMBEDDINGS_PROVIDER: { schema: z.enum(['builtin', 'openai']), default: 'builtin', help: 'builtin = offline feature hashing; openai = an OpenAI-compatible /v1/embeddings endpoint' },
  EMBEDDINGS_BASE_URL: {
    schema: optionalText.refine((v) => v === undefined || /^https?:\/\/\S+$/.test(v), 'an http(s) URL'),
    help: 'embeddings API base; unset = LLM_BASE_URL',
  },
  EMBEDDINGS_API_KEY: { schema: optionalText, help: 'bearer key for the embeddings API; unset = LLM_API_KEY (never logged)' },
  EMBEDDINGS_MODEL: { schema: z.string().min(1), default: 'text-embedding-3-small', help: 'embedding model name (openai provider)' },
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
  agent: { name: 'builtin' | 'openai' | 'none'; tokenDelayMs: number };
  llm: {
    baseUrl: string;
    apiKey: string | undefined;
    model: string;
    timeouts: { connectMs: number; firstTokenMs: number; idleMs: number };
    maxRetries: number;
    retryBaseMs: number;
    maxSteps: number;
  };
  cache: { enabled: boolean; ttlS: number; maxEntries: number; purgeIntervalS: number };
  admin: { claim: string; role: string };
  documentMaxBytes: number;
  embeddings: { provider: 'builtin' | 'openai'; baseUrl: string; apiKey: string | undefined; model: string };
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
  const agentName = r.LLM_PROVIDER ?? r.AGENT;
  if (agentName === 'openai' && r.LLM_MODEL === undefined && !errors.some((e) => e.startsWith('LLM_MODEL='))) errors.push('LLM_MODEL=unset: expected a model name when the provider is openai');
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
      agent: { name: agentName, tokenDelayMs: r.AGENT_TOKEN_DELAY_MS },
      llm: {
        baseUrl: r.LLM_BASE_URL,
        apiKey: r.LLM_API_KEY,
        model: r.LLM_MODEL ?? '',
        timeouts: { connectMs: r.LLM_CONNECT_TIMEOUT_MS, firstTokenMs: r.LLM_FIRST_TOKEN_TIMEOUT_MS, idleMs: r.LLM_IDLE_TIMEOUT_MS },
        maxRetries: r.LLM_MAX_RETRIES,
        retryBaseMs: r.LLM_RETRY_BASE_MS,
        maxSteps: r.LLM_MAX_STEPS,
      },
      cache: { enabled: r.CACHE_ENABLED, ttlS: r.CACHE_TTL_S, maxEntries: r.CACHE_MAX_ENTRIES, purgeIntervalS: r.CACHE_PURGE_INTERVAL_S },
      admin: { claim: r.ADMIN_CLAIM, role: r.ADMIN_ROLE },
      documentMaxBytes: r.DOCUMENT_MAX_BYTES,
      embeddings: {
        provider: r.EMBEDDINGS_PROVIDER,
        baseUrl: r.EMBEDDINGS_BASE_URL ?? r.LLM_BASE_URL,
        apiKey: r.EMBEDDINGS_API_KEY ?? r.LLM_API_KEY,
        model: r.EMBEDDINGS_MODEL,
      },
      healthDbTimeoutMs: r.HEALTH_DB_TIMEOUT_MS,
      shutdownGraceMs: r.SHUTDOWN_GRACE_MS,
      logLevel: r.LOG_LEVEL,
    },
  };
}

// Values never echoed in errors: they may hold credentials.
const SECRET_VARS = new Set(['JWT_SECRET', 'DATABASE_URL', 'LLM_API_KEY', 'EMBEDDINGS_API_KEY']);

export function loadConfig(): ParseResult {
  return parseConfig(process.env);
}

export function configHelp(): string {
  const rows = Object.entries(CONFIG_VARS as Record<string, VarSpec>).map(
    ([name, spec]) => `  ${name.padEnd(22)} ${(spec.default ?? '(unset)').padEnd(10)} ${spec.help}`,
  );
  return ['Environment variables (name, default, meaning):', ...rows].join('\n');
}

/** The operator's settings (`chat-backend operator`); kept apart from CONFIG_VARS, which is the server's. */
export interface OperatorConfig {
  podName: string;
  podNamespace: string;
  logLevel: string;
  watchNamespaces: string[];
  leaderElect: boolean;
  leaseNamespace: string;
  leaseDurationS: number;
  leaseRenewS: number;
  informerSilenceS: number;
  healthPort: number;
  metricsPort: number;
}

export const OPERATOR_VARS = {
  POD_NAME: 'identity in the leader-election Lease (default: the host name)',
  POD_NAMESPACE: 'namespace the operator runs in (default: default)',
  OPERATOR_WATCH_NAMESPACES: 'comma list of namespaces to reconcile; empty = all',
  OPERATOR_LEADER_ELECT: 'true/false: elect one active replica through a Lease (default true)',
  OPERATOR_LEASE_NAMESPACE: 'namespace of the Lease (default: POD_NAMESPACE)',
  OPERATOR_LEASE_DURATION_S: 'seconds a leader holds the Lease without renewing (default 15)',
  OPERATOR_LEASE_RENEW_S: 'seconds between renewals and acquisition attempts (default 2)',
  OPERATOR_INFORMER_SILENCE_S: 'an informer with no event for this long is restarted, which relists (default 600)',
  OPERATOR_HEALTH_PORT: '/healthz and /readyz port (default 8081)',
  OPERATOR_METRICS_PORT: '/metrics port (default 8080)',
} as const;

export function parseOperatorConfig(env: Record<string, string | undefined>, hostname = 'chat-backend-operator'): { ok: true; config: OperatorConfig } | { ok: false; errors: string[] } {
  const schema = z.object({
    POD_NAME: z.string().min(1).default(hostname),
    POD_NAMESPACE: z.string().min(1).default('default'),
    LOG_LEVEL: CONFIG_VARS.LOG_LEVEL.schema.default('info'),
    OPERATOR_WATCH_NAMESPACES: csv,
    OPERATOR_LEADER_ELECT: bool.default(true),
    OPERATOR_LEASE_NAMESPACE: optionalText,
    OPERATOR_LEASE_DURATION_S: z.coerce.number().int().min(2).max(600).default(15),
    OPERATOR_LEASE_RENEW_S: z.coerce.number().int().min(1).max(60).default(2),
    OPERATOR_INFORMER_SILENCE_S: z.coerce.number().int().min(1).max(86_400).default(600),
    OPERATOR_HEALTH_PORT: port.default(8081),
    OPERATOR_METRICS_PORT: port.default(8080),
  });
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  const v = parsed.data;
  if (v.OPERATOR_LEASE_RENEW_S >= v.OPERATOR_LEASE_DURATION_S) return { ok: false, errors: ['OPERATOR_LEASE_RENEW_S: must be shorter than OPERATOR_LEASE_DURATION_S'] };
  return {
    ok: true,
    config: {
      podName: v.POD_NAME,
      podNamespace: v.POD_NAMESPACE,
      logLevel: v.LOG_LEVEL,
      watchNamespaces: v.OPERATOR_WATCH_NAMESPACES ?? [],
      leaderElect: v.OPERATOR_LEADER_ELECT,
      leaseNamespace: v.OPERATOR_LEASE_NAMESPACE ?? v.POD_NAMESPACE,
      leaseDurationS: v.OPERATOR_LEASE_DURATION_S,
      leaseRenewS: v.OPERATOR_LEASE_RENEW_S,
      informerSilenceS: v.OPERATOR_INFORMER_SILENCE_S,
      healthPort: v.OPERATOR_HEALTH_PORT,
      metricsPort: v.OPERATOR_METRICS_PORT,
    },
  };
}

export function loadOperatorConfig(): ReturnType<typeof parseOperatorConfig> {
  return parseOperatorConfig(process.env, process.env.HOSTNAME);
}
