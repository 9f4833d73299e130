// The table of environment variables: schema, default and help for each. Pure data;
// config.ts applies it to the environment (and the operator to the env it renders).
import { z } from 'zod';
import { parseCidr } from './core/client-address.js';

export const port = z.coerce.number().int().min(0).max(65535);
export const positiveMs = z.coerce.number().int().min(1);
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
export const csv = z
  .string()
  .optional()
  .transform((v) =>
    v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
  );

const JWT_ALGS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA',
] as const;

export interface VarSpec {
  schema: z.ZodType;
  default?: string;
  help: string;
}

// One table drives validation, defaults and --help, so they cannot disagree.
export const CONFIG_VARS = {
  HOST: { schema: optionalText, help: 'address the HTTP/WebSocket server binds; unset = 0.0.0.0, or 127.0.0.1 in development mode' },
  PORT: { schema: port, default: '8000', help: 'HTTP/WebSocket port (0 picks a free one)' },
  METRICS_HOST: { schema: optionalText, help: 'address the metrics server binds; unset = 0.0.0.0, or 127.0.0.1 in development mode' },
  METRICS_PORT: { schema: port, default: '9464', help: 'Prometheus /metrics port, kept off the public port' },
  DATABASE_URL: {
    schema: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'a postgres:// or postgresql:// URL'),
    help: 'PostgreSQL URL; unset = embedded PostgreSQL under DATA_DIR',
  },
  DB_POOL_MAX: { schema: z.coerce.number().int().min(1).max(200), default: '10', help: 'PostgreSQL pool size' },
  DB_MAX_LIFETIME_S: { schema: z.coerce.number().int().min(1).max(86_400), default: '1800', help: 'seconds before a pooled PostgreSQL connection is closed and replaced (the runner lease connection is never recycled)' },
  RUNNER_SWEEP_MS: { schema: z.coerce.number().int().min(200).max(600_000), default: '15000', help: 'how often a replica looks for answers of vanished replicas; a replica\'s answers are marked interrupted once its lock was free at two sweeps' },
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
  TRUSTED_PROXIES: {
    schema: csv.refine((v) => v === undefined || v.every((e) => parseCidr(e) !== undefined), 'a comma list of addresses or CIDR ranges like 10.0.0.0/8,fd00::/8'),
    help: 'proxies (ingress controllers) whose X-Forwarded-For names the client address; unset = the socket peer is the client',
  },
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
  CACHE_MAX_ENTRIES: { schema: z.coerce.number().int().min(1), default: '10000', help: 'cache entries kept per model without a cache_config row (oldest go first; trimmed after every tenth of this many saves)' },
  CACHE_PURGE_INTERVAL_S: { schema: z.coerce.number().int().min(1), default: '300', help: 'how often expired cache entries are deleted' },
  ADMIN_CLAIM: { schema: z.string().min(1), default: 'roles', help: 'JWT claim that grants admin endpoints (/api/v1/cache/stats, /api/v1/cache/config)' },
  ADMIN_ROLE: { schema: z.string().min(1), default: 'admin', help: 'value of ADMIN_CLAIM (a string, or one element of an array) that means admin' },
  DOCUMENT_MAX_BYTES: { schema: z.coerce.number().int().min(1), default: String(512 * 1024), help: 'largest document content accepted (413 beyond)' },
  EMBEDDINGS_PROVIDER: { schema: z.enum(['builtin', 'openai']), default: 'builtin', help: 'builtin = offline feature hashing; openai = an OpenAI-compatible /v1/embeddings endpoint' },
  EMBEDDINGS_BASE_URL: {
    schema: optionalText.refine((v) => v === undefined || /^https?:\/\/\S+$/.test(v), 'an http(s) URL'),
    help: 'embeddings API base; unset = LLM_BASE_URL',
  },
  EMBEDDINGS_API_KEY: { schema: optionalText, help: 'bearer key for the embeddings API; unset = LLM_API_KEY (never logged)' },
  EMBEDDINGS_MODEL: { schema: z.string().min(1), default: 'text-embedding-3-small', help: 'embedding model name (openai provider)' },
  EMBEDDINGS_TIMEOUT_MS: { schema: positiveMs, default: '30000', help: 'one /embeddings request (a batch of up to 64 chunks) must answer within this' },
  EMBEDDINGS_MAX_RETRIES: { schema: z.coerce.number().int().min(0).max(10), default: '2', help: 'retries of an /embeddings batch after 429, 5xx, a timeout or a refused connection (backoff: LLM_RETRY_BASE_MS, Retry-After wins)' },
  TOOL_APPROVAL: {
    schema: optionalText.refine((v) => v === undefined || v.split(',').every((s) => s.trim() === '' || /^[A-Za-z0-9_.-]{1,64}=(always|ask|never)$/.test(s.trim())), 'a comma-separated list of tool=always|ask|never'),
    help: 'per-tool approval policy, e.g. calculator=ask,clock=always,search_documents=never (ask: the conversation owner approves each call)',
  },
  TOOL_APPROVAL_DEFAULT: { schema: z.enum(['always', 'ask', 'never']), default: 'always', help: 'approval policy of tools TOOL_APPROVAL does not name' },
  TOOL_APPROVAL_TIMEOUT_MS: { schema: positiveMs, default: '300000', help: 'a tool approval not decided within this is denied' },
  AGENT_TOKEN_DELAY_MS: { schema: z.coerce.number().int().min(0).max(5000), default: '15', help: 'pause between streamed answer tokens of the built-in agent' },
  BUS: { schema: z.enum(['postgres', 'nats']), default: 'postgres', help: 'cross-replica bus: postgres (LISTEN/NOTIFY on the database) or nats (NATS_URL; each replica receives only its conversations)' },
  BUS_LINGER_MS: {
    schema: z.coerce.number().int().min(0).max(1000),
    default: '2',
    help: 'BUS=postgres: under load, a NOTIFY batch leaves no sooner than this after the previous one (a batch after a quiet spell leaves at once); fewer, fuller batches cost PostgreSQL and every replica less, at up to this much added latency across replicas',
  },
  NATS_URL: {
    schema: csv.refine((v) => v === undefined || v.every((u) => /^(nats|tls):\/\/[^\s/]+\/?$/.test(u)), 'a comma list of nats:// or tls:// URLs like nats://nats:4222'),
    help: 'NATS server(s) when BUS=nats; the client reconnects by itself',
  },
  NATS_SUBJECT_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'subject tokens of letters, digits, _ or - joined by dots'),
    default: 'chat',
    help: 'subjects are <prefix>.conv.<conversation id>; distinct prefixes let deployments share a NATS account',
  },
  NATS_CREDS_FILE: { schema: optionalText, help: 'NATS .creds file (user JWT + nkey seed), e.g. a mounted Secret' },
  NATS_USER: { schema: optionalText, help: 'NATS user name (with NATS_PASSWORD or NATS_PASSWORD_FILE)' },
  NATS_PASSWORD: { schema: optionalText, help: 'NATS password (never logged); prefer NATS_PASSWORD_FILE' },
  NATS_PASSWORD_FILE: { schema: optionalText, help: 'file holding the NATS password' },
  NATS_TOKEN: { schema: optionalText, help: 'NATS auth token (never logged); prefer NATS_TOKEN_FILE' },
  NATS_TOKEN_FILE: { schema: optionalText, help: 'file holding the NATS auth token' },
  NATS_TLS_CA: { schema: optionalText, help: 'PEM file of the CA that signed the NATS server certificate (turns TLS on)' },
  NATS_TLS_CERT: { schema: optionalText, help: 'PEM client certificate for NATS mutual TLS (with NATS_TLS_KEY)' },
  NATS_TLS_KEY: { schema: optionalText, help: 'PEM private key of NATS_TLS_CERT' },
  NATS_CONNECT_TIMEOUT_MS: { schema: positiveMs, default: '5000', help: 'start fails when NATS does not answer within this' },
  NATS_MAX_PENDING_BYTES: {
    schema: z.coerce.number().int().min(4096),
    default: String(8 * 1024 * 1024),
    help: 'published bytes not yet confirmed by NATS; beyond it events are dropped and their conversations resynced',
  },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', help: 'pino log level' },
} satisfies Record<string, VarSpec>;
