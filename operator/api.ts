// The ChatBackend API (chatbackend.dev/v1alpha1): one zod schema is both what the reconciler
// parses and, through z.toJSONSchema, the CRD's OpenAPI schema (npm run gen:crds), so the API
// server enforces the same defaults and rules the operator assumes. Rules that relate two
// fields are CEL (`x-kubernetes-validations`) so the API server rejects them too; the matching
// zod refinements keep a resource that bypassed the API server (a test, a dry run) honest.
import { z } from 'zod';

export const GROUP = 'chatbackend.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ChatBackend';
export const PLURAL = 'chatbackends';
export const SINGULAR = 'chatbackend';
export const SHORT_NAMES = ['cb'];

/** A CEL rule that the CRD carries; `fieldPath` makes the API server name the offending field. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueDuplicate';
}
const cel = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });
const intOrString = { 'x-kubernetes-int-or-string': true };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const objectName = (what: string) =>
  z.string().min(1).max(253).regex(DNS_SUBDOMAIN).describe(`Name of the ${what} in the ChatBackend's namespace.`);

const secretKeyRef = (what: string, defaultKey: string) =>
  z
    .object({
      name: objectName(`Secret that holds ${what}`),
      key: z.string().min(1).max(253).regex(SECRET_KEY).default(defaultKey).describe(`Key in that Secret whose value is ${what}.`),
    })
    .strict();

const quantity = (what: string) =>
  z.union([z.int().min(0), z.string().max(64).regex(QUANTITY)]).meta({ ...intOrString, description: `${what}, a Kubernetes quantity (e.g. 500m, 1, 512Mi).` });

const resourceList = (what: string) =>
  z
    .object({ cpu: quantity(`CPU ${what}`).optional(), memory: quantity(`Memory ${what}`).optional() })
    .strict()
    .describe(`Compute ${what} of the server container.`);

export const SecretKeyRefSchema = secretKeyRef('the value', 'value');

export const DatabaseSpecSchema = z
  .object({
    secretRef: secretKeyRef('the PostgreSQL connection URL (postgres://user:pass@host:5432/db)', 'url').describe(
      'Secret key holding the PostgreSQL connection URL; the server and the schema Job read it as DATABASE_URL.',
    ),
  })
  .strict()
  .describe('The PostgreSQL database that keeps every conversation.');

export const AuthSpecSchema = z
  .object({
    jwtSecretRef: secretKeyRef('the HS256 JWT signing secret', 'secret')
      .optional()
      .describe('Secret key holding the shared HS256 secret that verifies client JWTs. Exactly one of jwtSecretRef and jwksUrl.'),
    jwksUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('JWKS endpoint whose keys verify client JWTs (RS256/ES256). Exactly one of jwtSecretRef and jwksUrl.'),
    issuer: z.string().min(1).max(1024).optional().describe('Required `iss` claim; tokens from another issuer are rejected.'),
    audience: z.string().min(1).max(1024).optional().describe('Required `aud` claim; tokens for another audience are rejected.'),
    allowedOrigins: z
      .array(z.string().min(1).max(2048))
      .max(64)
      .default([])
      .describe('Browser origins allowed to open WebSockets and call the HTTP API (CORS); empty allows none but same-origin.'),
  })
  .strict()
  .meta({
    ...cel({
      rule: 'has(self.jwtSecretRef) != has(self.jwksUrl)',
      message: 'exactly one of jwtSecretRef and jwksUrl must be set',
      reason: 'FieldValueInvalid',
    }),
    description: 'How the server authenticates clients: JWT Bearer tokens verified with a shared secret or a JWKS.',
  });

export const LlmSpecSchema = z
  .object({
    provider: z.enum(['builtin', 'openai']).default('builtin').describe('`builtin`: the deterministic offline agent. `openai`: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp).'),
    baseUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('Base URL of the OpenAI-compatible API (LLM_BASE_URL), e.g. https://api.openai.com/v1. Required when provider is openai.'),
    model: z.string().min(1).max(256).optional().describe('Model name sent with each request. Required when provider is openai.'),
    apiKeySecretRef: secretKeyRef('the LLM API key', 'api-key').optional().describe('Secret key holding the API key sent as a Bearer token to the LLM endpoint.'),
    embeddingsUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('OpenAI-compatible /v1/embeddings endpoint; the built-in hashing embedder is used when unset.'),
    requestTimeoutSeconds: z.int().min(1).max(3600).default(120).describe('Timeout of one LLM request, in seconds.'),
    responseCache: z
      .object({
        enabled: z.boolean().default(true).describe('Answer identical requests from llm_response_cache.'),
        ttlSeconds: z.int().min(1).max(31_536_000).default(3600).describe('How long a cached response stays valid, in seconds.'),
      })
      .strict()
      .default({ enabled: true, ttlSeconds: 3600 })
      .describe('Response cache for identical LLM requests.'),
  })
  .strict()
  .meta({
    ...cel(
      { rule: "self.provider != 'openai' || has(self.baseUrl)", message: 'baseUrl is required when provider is openai', fieldPath: '.baseUrl', reason: 'FieldValueRequired' },
      { rule: "self.provider != 'openai' || has(self.model)", message: 'model is required when provider is openai', fieldPath: '.model', reason: 'FieldValueRequired' },
    ),
    description: 'The language model behind the agent.',
  });

export const ResourcesSpecSchema = z
  .object({ requests: resourceList('requests').optional(), limits: resourceList('limits').optional() })
  .strict()
  .describe('CPU and memory requests and limits of each server pod.');

export const IngressSpecSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Create an Ingress for the server (HTTP API and WebSocket).'),
    host: z.string().min(1).max(253).regex(HOSTNAME).optional().describe('Host name the Ingress serves. Required when enabled.'),
    className: z.string().min(1).max(253).optional().describe('IngressClass name; the cluster default class when unset.'),
    tlsSecretName: objectName('TLS Secret (tls.crt, tls.key) for the host; plain HTTP when unset').optional(),
    annotations: z.record(z.string(), z.string()).optional().describe('Extra annotations on the Ingress (e.g. cert-manager issuer).'),
    timeouts: z
      .object({
        readSeconds: z.int().min(1).max(86_400).default(3600).describe('Proxy read timeout; long so idle WebSockets are not cut.'),
        sendSeconds: z.int().min(1).max(86_400).default(3600).describe('Proxy send timeout; long so idle WebSockets are not cut.'),
        connectSeconds: z.int().min(1).max(300).default(10).describe('Timeout of the proxy connecting to a server pod.'),
      })
      .strict()
      .default({ readSeconds: 3600, sendSeconds: 3600, connectSeconds: 10 })
      .describe('WebSocket-friendly proxy timeouts, written as ingress-nginx annotations.'),
  })
  .strict()
  .meta({
    ...cel({ rule: '!self.enabled || has(self.host)', message: 'host is required when ingress is enabled', fieldPath: '.host', reason: 'FieldValueRequired' }),
    description: 'Exposure of the server outside the cluster (WSS through an ingress controller).',
  });

export const MetricsSpecSchema = z
  .object({
    serviceMonitor: z
      .object({
        enabled: z.boolean().default(false).describe('Create a prometheus-operator ServiceMonitor for the server pods.'),
        interval: z.string().regex(DURATION).default('30s').describe('Scrape interval, a duration such as 30s.'),
        labels: z.record(z.string(), z.string()).optional().describe('Extra labels on the ServiceMonitor, for a Prometheus serviceMonitorSelector.'),
      })
      .strict()
      .default({ enabled: false, interval: '30s' })
      .describe('ServiceMonitor for Prometheus Operator.'),
  })
  .strict()
  .describe('Prometheus metrics of the server (served at /metrics).');

export const SchemaJobSpecSchema = z
  .object({
    backoffLimit: z.int().min(0).max(100).default(3).describe('Retries of the schema Job before it is failed.'),
    activeDeadlineSeconds: z.int().min(1).max(86_400).default(600).describe('Seconds the schema Job may run in all before it is failed.'),
    ttlSecondsAfterFinished: z.int().min(0).max(2_592_000).default(86_400).describe('Seconds a finished schema Job is kept for inspection before it is deleted.'),
  })
  .strict()
  .describe('The Job that runs `chat-backend migrate` before each rollout whose schema may change.');

export const PodDisruptionBudgetSpecSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Create a PodDisruptionBudget for the server pods.'),
    minAvailable: z.union([z.int().min(0), z.string().regex(/^[0-9]+%$/)]).meta({ ...intOrString, description: 'Pods that must stay available (a count or a percentage). Exclusive with maxUnavailable.' }).optional(),
    maxUnavailable: z.union([z.int().min(0), z.string().regex(/^[0-9]+%$/)]).meta({ ...intOrString, description: 'Pods that may be unavailable at once (a count or a percentage); 1 when neither is set.' }).optional(),
  })
  .strict()
  .meta({
    ...cel({ rule: '!(has(self.minAvailable) && has(self.maxUnavailable))', message: 'set at most one of minAvailable and maxUnavailable', reason: 'FieldValueForbidden' }),
    description: 'Voluntary-disruption budget for the server pods.',
  });

export const AutoscalingSpecSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Create a HorizontalPodAutoscaler; spec.replicas is then ignored.'),
    minReplicas: z.int().min(1).max(1000).default(2).describe('Fewest replicas the autoscaler keeps.'),
    maxReplicas: z.int().min(1).max(1000).default(10).describe('Most replicas the autoscaler creates.'),
    targetCPUUtilizationPercentage: z.int().min(1).max(100).default(70).describe('Average CPU utilization (percent of requests) the autoscaler aims at.'),
    targetMemoryUtilizationPercentage: z
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'Average memory utilization (percent of resources.requests.memory, which must then be set) the autoscaler also aims at; the higher of the CPU and memory proposals wins. Unset: CPU only. A Node.js process rarely returns memory after a peak, so this mostly scales up.',
      ),
  })
  .strict()
  .meta({
    ...cel({ rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas', fieldPath: '.minReplicas', reason: 'FieldValueInvalid' }),
    description: 'Horizontal autoscaling of the server on CPU, and optionally memory (autoscaling/v2).',
  });

const NATS_URL = /^(nats|tls):\/\/[^\s/,]+\/?$/;

export const BusSpecSchema = z
  .object({
    type: z.enum(['postgres', 'nats']).default('postgres').describe('`postgres`: LISTEN/NOTIFY on the database (no extra service; every replica hears every conversation). `nats`: an existing NATS (core, no JetStream needed); each replica receives only the conversations it serves.'),
    url: z.string().max(2048).regex(NATS_URL).optional().describe('NATS server URL (NATS_URL), e.g. nats://nats.nats.svc:4222; tls:// requires TLS. Required when type is nats.'),
    subjectPrefix: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).optional().describe('Subjects are <prefix>.conv.<conversation id>; a distinct prefix per ChatBackend lets several share one NATS account. Default: chat.'),
    credsSecretRef: secretKeyRef('a NATS .creds file (user JWT and nkey seed)', 'nats.creds').optional().describe('Secret key holding a NATS .creds file, mounted into the pods (NATS_CREDS_FILE). At most one of credsSecretRef, tokenSecretRef and user.'),
    tokenSecretRef: secretKeyRef('the NATS auth token', 'token').optional().describe('Secret key holding a NATS auth token (NATS_TOKEN).'),
    user: z.string().min(1).max(256).optional().describe('NATS user name (NATS_USER); requires passwordSecretRef.'),
    passwordSecretRef: secretKeyRef('the NATS password', 'password').optional().describe('Secret key holding the password of user (NATS_PASSWORD).'),
    tlsCASecretRef: secretKeyRef('the PEM CA certificate of the NATS server', 'ca.crt').optional().describe('Secret key holding the CA that signed the NATS server certificate, mounted into the pods (NATS_TLS_CA); turns TLS on.'),
    tlsClientSecretName: objectName('kubernetes.io/tls Secret (tls.crt, tls.key) with the client certificate for NATS mutual TLS').optional(),
  })
  .strict()
  .meta({
    ...cel(
      { rule: "self.type != 'nats' || has(self.url)", message: 'url is required when type is nats', fieldPath: '.url', reason: 'FieldValueRequired' },
      { rule: "self.type == 'nats' || (!has(self.url) && !has(self.credsSecretRef) && !has(self.tokenSecretRef) && !has(self.user) && !has(self.tlsCASecretRef) && !has(self.tlsClientSecretName))", message: 'NATS settings need type: nats', reason: 'FieldValueForbidden' },
      { rule: '[has(self.credsSecretRef), has(self.tokenSecretRef), has(self.user)].filter(x, x).size() <= 1', message: 'set at most one of credsSecretRef, tokenSecretRef and user', reason: 'FieldValueForbidden' },
      { rule: 'has(self.user) == has(self.passwordSecretRef)', message: 'user and passwordSecretRef go together', fieldPath: '.passwordSecretRef', reason: 'FieldValueRequired' },
    ),
    description: 'The bus that carries streaming answers, presence and cancels between server replicas.',
  });

export const ChatBackendSpecSchema = z
  .object({
    image: z.string().min(1).max(1024).describe('Container image of chat-backend; runs `serve` in the server pods and `migrate` in the schema Job.'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent').describe('Pull policy of that image.'),
    imagePullSecrets: z.array(objectName('image pull Secret')).max(16).optional().describe('Secrets with registry credentials for the image.'),
    replicas: z.int().min(0).max(1000).default(2).describe('Server pods to run when autoscaling is off.'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info').describe('Log level of the server (LOG_LEVEL).'),
    database: DatabaseSpecSchema,
    auth: AuthSpecSchema,
    bus: BusSpecSchema.default({ type: 'postgres' }),
    llm: LlmSpecSchema.default({ provider: 'builtin', requestTimeoutSeconds: 120, responseCache: { enabled: true, ttlSeconds: 3600 } }),
    resources: ResourcesSpecSchema.default({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } }),
    ingress: IngressSpecSchema.default({ enabled: false, timeouts: { readSeconds: 3600, sendSeconds: 3600, connectSeconds: 10 } }),
    metrics: MetricsSpecSchema.default({ serviceMonitor: { enabled: false, interval: '30s' } }),
    schemaJob: SchemaJobSpecSchema.default({ backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 86_400 }),
    podDisruptionBudget: PodDisruptionBudgetSpecSchema.default({ enabled: true }),
    autoscaling: AutoscalingSpecSchema.default({ enabled: false, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 }),
    env: z
      .array(z.object({ name: z.string().min(1).max(256).regex(ENV_NAME).describe('Variable name.'), value: z.string().max(32_768).describe('Variable value.') }).strict())
      .max(64)
      .optional()
      .describe('Extra environment variables of the server container (e.g. tuning knobs); never secrets.'),
    podAnnotations: z.record(z.string(), z.string()).optional().describe('Extra annotations on the server pods.'),
    nodeSelector: z.record(z.string(), z.string()).optional().describe('Node labels the server pods must be scheduled on.'),
  })
  .strict()
  .meta({
    // Utilization is a percentage of the request: without one the HPA cannot compute it and
    // only reports FailedGetResourceMetric on its own status, so the API server says so instead.
    ...cel({
      rule: '!has(self.autoscaling) || !self.autoscaling.enabled || !has(self.autoscaling.targetMemoryUtilizationPercentage) || (has(self.resources) && has(self.resources.requests) && has(self.resources.requests.memory))',
      message: 'resources.requests.memory is required when autoscaling.targetMemoryUtilizationPercentage is set',
      fieldPath: '.resources.requests.memory',
      reason: 'FieldValueRequired',
    }),
    description: 'Desired state of a chat-backend deployment.',
  });

export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe('Condition type: Ready, Progressing or Degraded.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition.'),
    observedGeneration: z.int().min(0).optional().describe('metadata.generation the condition was computed from.'),
    lastTransitionTime: z.iso.datetime().describe('Last time the status changed.'),
    reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/).describe('CamelCase reason, e.g. SchemaMigrationRunning.'),
    message: z.string().max(32_768).describe('Human-readable detail.'),
  })
  .strict()
  .describe('A standard Kubernetes condition.');

export const ChatBackendStatusSchema = z
  .object({
    observedGeneration: z.int().min(0).optional().describe('metadata.generation the operator last acted on.'),
    conditions: z
      .array(ConditionSchema)
      .max(16)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], description: 'Ready, Progressing and Degraded.' }),
    schema: z
      .object({
        appliedHash: z.string().max(128).optional().describe('Hash of the image and spec the schema was last migrated for.'),
        jobName: z.string().max(253).optional().describe('Name of the latest schema Job.'),
        failedHash: z.string().max(128).optional().describe('Hash whose schema Job failed; it is not run again, even after its TTL removed the Job, until the spec changes or chatbackend.dev/retry-schema is set.'),
      })
      .strict()
      .optional()
      .describe('Database schema migration state.'),
    replicas: z.int().min(0).optional().describe('Server pods that exist.'),
    readyReplicas: z.int().min(0).optional().describe('Server pods that are ready.'),
    url: z.string().max(2048).optional().describe('Where clients reach the server (the Ingress URL, else the Service URL).'),
  })
  .strict()
  .describe('Observed state, written by the operator.');

export type ChatBackendSpec = z.output<typeof ChatBackendSpecSchema>;
export type ChatBackendSpecInput = z.input<typeof ChatBackendSpecSchema>;
export type ChatBackendStatus = z.output<typeof ChatBackendStatusSchema>;
export type Condition = z.output<typeof ConditionSchema>;

/** The zod side of the CEL rules above, for resources that did not pass an API server. */
export const ChatBackendSpecStrictSchema = ChatBackendSpecSchema.superRefine((spec, ctx) => {
  if ((spec.auth.jwtSecretRef === undefined) === (spec.auth.jwksUrl === undefined)) ctx.addIssue({ code: 'custom', path: ['auth'], message: 'exactly one of jwtSecretRef and jwksUrl must be set' });
  if (spec.llm.provider === 'openai' && spec.llm.baseUrl === undefined) ctx.addIssue({ code: 'custom', path: ['llm', 'baseUrl'], message: 'baseUrl is required when provider is openai' });
  if (spec.llm.provider === 'openai' && spec.llm.model === undefined) ctx.addIssue({ code: 'custom', path: ['llm', 'model'], message: 'model is required when provider is openai' });
  if (spec.ingress.enabled && spec.ingress.host === undefined) ctx.addIssue({ code: 'custom', path: ['ingress', 'host'], message: 'host is required when ingress is enabled' });
  const bus = spec.bus;
  if (bus.type === 'nats' && bus.url === undefined) ctx.addIssue({ code: 'custom', path: ['bus', 'url'], message: 'url is required when type is nats' });
  if (bus.type !== 'nats' && [bus.url, bus.credsSecretRef, bus.tokenSecretRef, bus.user, bus.tlsCASecretRef, bus.tlsClientSecretName].some((v) => v !== undefined)) ctx.addIssue({ code: 'custom', path: ['bus'], message: 'NATS settings need type: nats' });
  if ([bus.credsSecretRef, bus.tokenSecretRef, bus.user].filter((v) => v !== undefined).length > 1) ctx.addIssue({ code: 'custom', path: ['bus'], message: 'set at most one of credsSecretRef, tokenSecretRef and user' });
  if ((bus.user === undefined) !== (bus.passwordSecretRef === undefined)) ctx.addIssue({ code: 'custom', path: ['bus', 'passwordSecretRef'], message: 'user and passwordSecretRef go together' });
  const pdb = spec.podDisruptionBudget;
  if (pdb.minAvailable !== undefined && pdb.maxUnavailable !== undefined) ctx.addIssue({ code: 'custom', path: ['podDisruptionBudget'], message: 'set at most one of minAvailable and maxUnavailable' });
  if (spec.autoscaling.minReplicas > spec.autoscaling.maxReplicas) ctx.addIssue({ code: 'custom', path: ['autoscaling', 'minReplicas'], message: 'minReplicas must not exceed maxReplicas' });
  if (spec.autoscaling.enabled && spec.autoscaling.targetMemoryUtilizationPercentage !== undefined && spec.resources.requests?.memory === undefined) {
    ctx.addIssue({ code: 'custom', path: ['resources', 'requests', 'memory'], message: 'resources.requests.memory is required when autoscaling.targetMemoryUtilizationPercentage is set' });
  }
});

/** A whole ChatBackend object as read from the API server (metadata kept loose on purpose). */
export const ChatBackendSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string(),
    uid: z.string().optional(),
    generation: z.int().optional(),
    resourceVersion: z.string().optional(),
  }),
  spec: ChatBackendSpecStrictSchema,
  status: ChatBackendStatusSchema.optional(),
});
export type ChatBackend = z.output<typeof ChatBackendSchema>;
