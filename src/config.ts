// The only module that reads process.env. Everything else receives a typed Config.
// parseConfig is pure so the operator can validate the config it renders for a pod
// with exactly the schema the server will apply.
import { z } from 'zod';
import { bool, CONFIG_VARS, csv, optionalText, port, type VarSpec } from './config-vars.js';
import { parsePolicies } from './core/approvals.js';

export { CONFIG_VARS };

type Vars = typeof CONFIG_VARS;
type Raw = { [K in keyof Vars]: z.output<Vars[K]['schema']> };

export type JwtMode =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; pem: string }
  | { kind: 'jwks'; url: string }
  | { kind: 'development' };

export interface NatsConfig {
  servers: string[];
  subjectPrefix: string;
  credsFile: string | undefined;
  user: string | undefined;
  password: { value: string } | { file: string } | undefined;
  token: { value: string } | { file: string } | undefined;
  tls: { ca: string | undefined; cert: string | undefined; key: string | undefined } | undefined;
  connectTimeoutMs: number;
  maxPendingBytes: number;
}

export interface Config {
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  databaseUrl: string | undefined;
  dbPoolMax: number;
  dbMaxLifetimeS: number;
  runnerSweepMs: number;
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
    trustedProxies: string[] | undefined;
    maxPendingPerIp: number;
    maxConnectionsPerUser: number;
    ratePerSec: number;
    rateBurst: number;
    userMessageRatePerSec: number;
    userMessageBurst: number;
    maxBufferedBytes: number;
  };
  agent: { name: 'builtin' | 'openai' | 'none'; tokenDelayMs: number };
  approvals: { defaultPolicy: 'always' | 'ask' | 'never'; tools: Record<string, 'always' | 'ask' | 'never'>; timeoutMs: number };
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
  embeddings: { provider: 'builtin' | 'openai'; baseUrl: string; apiKey: string | undefined; model: string; timeoutMs: number; maxRetries: number; retryBaseMs: number };
  bus: { kind: 'postgres'; lingerMs: number } | { kind: 'nats'; nats: NatsConfig };
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
      const secret = SECRET_VARS.has(name);
      const shown = value === undefined ? 'unset' : secret ? '<redacted>' : JSON.stringify(value);
      const want = expected(spec.schema) ?? parsed.error.issues.map((i) => i.message).join('; ');
      errors.push(`${name}=${shown}: expected ${want}${value === undefined || secret ? '' : `, got ${shown}`}`);
    }
  }
  const r = raw as Raw;
  const jwtSources = (['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const).filter((k) => r[k] !== undefined);
  if (jwtSources.length > 1) errors.push(`${jwtSources.join(', ')}: set only one JWT key source`);
  const agentName = r.LLM_PROVIDER ?? r.AGENT;
  if (agentName === 'openai' && r.LLM_MODEL === undefined && !errors.some((e) => e.startsWith('LLM_MODEL='))) errors.push('LLM_MODEL=unset: expected a model name when the provider is openai');
  if (errors.length === 0) errors.push(...natsErrors(r));
  if (errors.length > 0) return { ok: false, errors };

  const mode: JwtMode = r.JWT_SECRET !== undefined ? { kind: 'secret', secret: r.JWT_SECRET }
    : r.JWT_PUBLIC_KEY !== undefined ? { kind: 'public-key', pem: r.JWT_PUBLIC_KEY }
    : r.JWT_JWKS_URL !== undefined ? { kind: 'jwks', url: r.JWT_JWKS_URL }
    : { kind: 'development' };
  const dev = mode.kind === 'development';
  // Development mode hands out tokens (GET /api/dev/token): unless told otherwise it
  // listens on loopback only, so nobody on the LAN can take one.
  const anyHost = dev ? '127.0.0.1' : '0.0.0.0';
  return {
    ok: true,
    config: {
      host: r.HOST ?? anyHost,
      port: r.PORT,
      metricsHost: r.METRICS_HOST ?? anyHost,
      metricsPort: r.METRICS_PORT,
      databaseUrl: r.DATABASE_URL,
      dbPoolMax: r.DB_POOL_MAX,
      dbMaxLifetimeS: r.DB_MAX_LIFETIME_S,
      runnerSweepMs: r.RUNNER_SWEEP_MS,
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
        trustedProxies: r.TRUSTED_PROXIES,
        maxPendingPerIp: r.MAX_PENDING_PER_IP,
        maxConnectionsPerUser: r.MAX_CONNECTIONS_PER_USER,
        ratePerSec: r.WS_RATE_PER_SEC,
        rateBurst: r.WS_RATE_BURST,
        userMessageRatePerSec: r.USER_MESSAGE_RATE_PER_SEC,
        userMessageBurst: r.USER_MESSAGE_BURST,
        maxBufferedBytes: r.WS_MAX_BUFFERED_BYTES,
      },
      agent: { name: agentName, tokenDelayMs: r.AGENT_TOKEN_DELAY_MS },
      approvals: { defaultPolicy: r.TOOL_APPROVAL_DEFAULT, tools: parsePolicies(r.TOOL_APPROVAL), timeoutMs: r.TOOL_APPROVAL_TIMEOUT_MS },
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
        timeoutMs: r.EMBEDDINGS_TIMEOUT_MS,
        maxRetries: r.EMBEDDINGS_MAX_RETRIES,
        retryBaseMs: r.LLM_RETRY_BASE_MS,
      },
      bus: r.BUS === 'nats' ? { kind: 'nats', nats: natsConfig(r) } : { kind: 'postgres', lingerMs: r.BUS_LINGER_MS },
      healthDbTimeoutMs: r.HEALTH_DB_TIMEOUT_MS,
      shutdownGraceMs: r.SHUTDOWN_GRACE_MS,
      logLevel: r.LOG_LEVEL,
    },
  };
}

// What a variable's schema accepts, in words, for the kinds zod would otherwise describe
// in its own terms ("Invalid input: expected number, received NaN"); undefined for the
// others, whose refinements carry their own wording.
function expected(schema: z.ZodType): string | undefined {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  if (def.type === 'optional' || def.type === 'default') return expected(def.innerType!);
  if (def.type === 'pipe') return expected(def.in!);
  if (schema instanceof z.ZodNumber) {
    const kind = schema.isInt ? 'an integer' : 'a number';
    const max = schema.maxValue ?? Infinity;
    const min = schema.minValue ?? -Infinity;
    if (max < Number.MAX_SAFE_INTEGER) return `${kind} from ${min} to ${max}`;
    return Number.isFinite(min) ? `${kind} of at least ${min}` : kind;
  }
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map((o) => JSON.stringify(o)).join(', ')}`;
  return undefined;
}

// Values never echoed in errors: they may hold credentials.
const SECRET_VARS = new Set(['JWT_SECRET', 'DATABASE_URL', 'LLM_API_KEY', 'EMBEDDINGS_API_KEY', 'NATS_URL', 'NATS_PASSWORD', 'NATS_TOKEN']);

// Combinations the per-variable schemas cannot see; each error names the variables.
function natsErrors(r: Raw): string[] {
  const out: string[] = [];
  if (r.BUS === 'nats' && r.NATS_URL === undefined) out.push('NATS_URL=unset: expected a nats:// URL when BUS=nats');
  const both = (a: keyof Raw, b: keyof Raw) => {
    if (r[a] !== undefined && r[b] !== undefined) out.push(`${a}, ${b}: set only one`);
  };
  both('NATS_PASSWORD', 'NATS_PASSWORD_FILE');
  both('NATS_TOKEN', 'NATS_TOKEN_FILE');
  const methods = [r.NATS_CREDS_FILE && 'NATS_CREDS_FILE', r.NATS_USER && 'NATS_USER', (r.NATS_TOKEN ?? r.NATS_TOKEN_FILE) && 'NATS_TOKEN'].filter(Boolean);
  if (methods.length > 1) out.push(`${methods.join(', ')}: set only one NATS authentication method`);
  if (r.NATS_USER !== undefined && r.NATS_PASSWORD === undefined && r.NATS_PASSWORD_FILE === undefined) out.push('NATS_PASSWORD=unset: expected NATS_PASSWORD or NATS_PASSWORD_FILE with NATS_USER');
  if (r.NATS_USER === undefined && (r.NATS_PASSWORD ?? r.NATS_PASSWORD_FILE) !== undefined) out.push('NATS_USER=unset: expected a user name with a NATS password');
  if ((r.NATS_TLS_CERT === undefined) !== (r.NATS_TLS_KEY === undefined)) out.push('NATS_TLS_CERT, NATS_TLS_KEY: set both for mutual TLS, or neither');
  return out;
}

function natsConfig(r: Raw): NatsConfig {
  const secret = (value: string | undefined, file: string | undefined) => (value !== undefined ? { value } : file !== undefined ? { file } : undefined);
  const tls = r.NATS_TLS_CA ?? r.NATS_TLS_CERT;
  return {
    servers: r.NATS_URL ?? [],
    subjectPrefix: r.NATS_SUBJECT_PREFIX,
    credsFile: r.NATS_CREDS_FILE,
    user: r.NATS_USER,
    password: secret(r.NATS_PASSWORD, r.NATS_PASSWORD_FILE),
    token: secret(r.NATS_TOKEN, r.NATS_TOKEN_FILE),
    tls: tls === undefined ? undefined : { ca: r.NATS_TLS_CA, cert: r.NATS_TLS_CERT, key: r.NATS_TLS_KEY },
    connectTimeoutMs: r.NATS_CONNECT_TIMEOUT_MS,
    maxPendingBytes: r.NATS_MAX_PENDING_BYTES,
  };
}

export function loadConfig(): ParseResult {
  return parseConfig(process.env);
}

export function configHelp(): string {
  const vars = Object.entries(CONFIG_VARS as Record<string, VarSpec>).map(([name, spec]) => [name, spec.default ?? '(unset)', spec.help] as const);
  // Columns as wide as their longest entry, so long names and defaults stay aligned.
  const nameWidth = Math.max(...vars.map(([n]) => n.length));
  const defaultWidth = Math.max(...vars.map(([, d]) => d.length));
  const rows = vars.map(([name, def, help]) => `  ${name.padEnd(nameWidth)}  ${def.padEnd(defaultWidth)}  ${help}`);
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
