// The server's environment rendered from the spec, validated with the server's own config
// schema (parseConfig) before any pod sees it. Secret values never pass through the operator:
// they are secretKeyRefs, and validation substitutes placeholders of the right shape.
import type { V1EnvVar } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config.js';
import type { ChatBackend } from '../api.js';
import { busPod } from './bus.js';
import { hash, METRICS_PORT, SERVER_PORT } from './common.js';

/** Seconds the server may drain after SIGTERM (SHUTDOWN_GRACE_MS). */
export const SHUTDOWN_GRACE_SECONDS = 10;
/** Seconds a terminating pod keeps serving so endpoints and ingresses stop routing to it first. */
export const PRE_STOP_SECONDS = 5;

const PLACEHOLDERS: Record<string, string> = {
  DATABASE_URL: 'postgres://placeholder@localhost:5432/placeholder',
  JWT_SECRET: 'x'.repeat(32),
  LLM_API_KEY: 'placeholder',
};

export interface RenderedConfig {
  env: V1EnvVar[];
  /** Changes whenever the rendered environment does, so it rolls the pods from the pod template. */
  hash: string;
}

export type ConfigResult = { ok: true; config: RenderedConfig } | { ok: false; errors: string[] };

const secretEnv = (name: string, ref: { name: string; key: string }): V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });

export function databaseEnv(cb: ChatBackend): V1EnvVar {
  return secretEnv('DATABASE_URL', cb.spec.database.secretRef);
}

export function renderConfig(cb: ChatBackend): ConfigResult {
  const s = cb.spec;
  const plain: Record<string, string> = {
    HOST: '0.0.0.0',
    PORT: String(SERVER_PORT),
    METRICS_HOST: '0.0.0.0',
    METRICS_PORT: String(METRICS_PORT),
    // The schema Job migrates before every rollout; replicas must not race it.
    MIGRATE_ON_START: 'false',
    // The root filesystem is read-only; /tmp is an emptyDir.
    DATA_DIR: '/tmp/chat-backend',
    LOG_LEVEL: s.logLevel,
    SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_SECONDS * 1000),
    LLM_PROVIDER: s.llm.provider,
    LLM_FIRST_TOKEN_TIMEOUT_MS: String(s.llm.requestTimeoutSeconds * 1000),
    CACHE_ENABLED: String(s.llm.responseCache.enabled),
    CACHE_TTL_S: String(s.llm.responseCache.ttlSeconds),
  };
  if (s.auth.jwksUrl !== undefined) plain.JWT_JWKS_URL = s.auth.jwksUrl;
  if (s.auth.issuer !== undefined) plain.JWT_ISSUER = s.auth.issuer;
  if (s.auth.audience !== undefined) plain.JWT_AUDIENCE = s.auth.audience;
  if (s.auth.allowedOrigins.length > 0) plain.ALLOWED_ORIGINS = s.auth.allowedOrigins.join(',');
  if (s.llm.baseUrl !== undefined) plain.LLM_BASE_URL = s.llm.baseUrl;
  if (s.llm.model !== undefined) plain.LLM_MODEL = s.llm.model;
  if (s.llm.embeddingsUrl !== undefined) {
    plain.EMBEDDINGS_PROVIDER = 'openai';
    // The server appends /embeddings to its base URL.
    plain.EMBEDDINGS_BASE_URL = s.llm.embeddingsUrl.replace(/\/embeddings\/?$/, '');
  }
  const bus = busPod(s);
  Object.assign(plain, bus.plain);
  for (const e of s.env ?? []) plain[e.name] = e.value;

  const secrets: V1EnvVar[] = [databaseEnv(cb), ...bus.secrets];
  if (s.auth.jwtSecretRef !== undefined) secrets.push(secretEnv('JWT_SECRET', s.auth.jwtSecretRef));
  if (s.llm.apiKeySecretRef !== undefined) secrets.push(secretEnv('LLM_API_KEY', s.llm.apiKeySecretRef));
  // Extra env must not shadow a secret-sourced variable (a plain value would leak into the spec).
  const shadowed = secrets.filter((e) => e.name in plain).map((e) => e.name);
  if (shadowed.length > 0) return { ok: false, errors: shadowed.map((n) => `spec.env ${n}: set by the operator from a Secret; remove it from spec.env`) };

  const check: Record<string, string> = { ...plain };
  for (const e of secrets) check[e.name] = PLACEHOLDERS[e.name] ?? 'placeholder';
  const parsed = parseConfig(check);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };

  const env: V1EnvVar[] = [...Object.entries(plain).map(([name, value]) => ({ name, value })), ...secrets];
  return { ok: true, config: { env, hash: hash(env, 16) } };
}
