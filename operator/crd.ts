// Turns the zod schema of operator/api.ts into the ChatBackend CustomResourceDefinition.
// z.toJSONSchema speaks JSON Schema; the API server wants a *structural* OpenAPI v3 schema,
// so a few shapes are rewritten: no additionalProperties:false (unknown fields are pruned,
// and rejected under fieldValidation=Strict), int-or-string in Kubernetes' own form, and no
// bounds that only restate JavaScript's safe-integer range.
import { z } from 'zod';
import {
  ChatBackendSpecSchema,
  ChatBackendStatusSchema,
  GROUP,
  KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './api.js';

export type JsonSchema = { [key: string]: unknown };

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function isObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rewrites one zod-produced JSON Schema node (and its children) into structural OpenAPI. */
export function toStructural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'additionalProperties' && value === false) continue;
    if ((key === 'maximum' && value === SAFE_MAX) || (key === 'minimum' && value === -SAFE_MAX)) continue;
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isObject(v) ? toStructural(v) : v]));
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = toStructural(value);
    } else {
      out[key] = value;
    }
  }
  if (out['x-kubernetes-int-or-string'] === true) {
    // Kubernetes accepts int-or-string only as exactly these two branches with no type.
    const branches = Array.isArray(out.anyOf) ? (out.anyOf as JsonSchema[]) : [];
    const stringBranch = branches.find((b) => b.type === 'string');
    const intBranch = branches.find((b) => b.type === 'integer');
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    delete out.type;
    if (stringBranch?.pattern !== undefined) out.pattern = stringBranch.pattern;
    if (intBranch?.minimum !== undefined && intBranch.minimum !== -SAFE_MAX) out.minimum = intBranch.minimum;
  }
  // The API server validates date-time itself; zod's long regex would only add noise.
  if (out.format === 'date-time') delete out.pattern;
  return withKeyOrder(out);
}

// type and description first, children last: the generated YAML reads like a hand-written CRD.
const FIRST = ['type', 'description', 'default'];
const LAST = ['properties', 'additionalProperties', 'items', 'required', 'x-kubernetes-validations'];
function withKeyOrder(node: JsonSchema): JsonSchema {
  const keys = Object.keys(node);
  const middle = keys.filter((k) => !FIRST.includes(k) && !LAST.includes(k));
  const ordered = [...FIRST.filter((k) => k in node), ...middle, ...LAST.filter((k) => k in node)];
  return Object.fromEntries(ordered.map((k) => [k, node[k]]));
}

function schemaOf(schema: z.ZodType): JsonSchema {
  // io: 'input' keeps defaulted fields optional, as a user writes them.
  return toStructural(z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as JsonSchema);
}

export function chatBackendOpenApiSchema(): JsonSchema {
  return {
    type: 'object',
    description: 'ChatBackend runs the chat-backend server: schema Job, Deployment, Service and optional Ingress, PDB, HPA and ServiceMonitor.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      // The API server owns metadata's schema; a CRD may not describe it.
      metadata: { type: 'object' },
      spec: schemaOf(ChatBackendSpecSchema),
      status: schemaOf(ChatBackendStatusSchema),
    },
  };
}

export function chatBackendCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: ['chat'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the server is rolled out and available.' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready server pods.' },
            { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Server image.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: chatBackendOpenApiSchema() },
        },
      ],
    },
  };
}
