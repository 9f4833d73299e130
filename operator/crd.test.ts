// The CRD as generated from operator/api.ts: committed copies are current, every field is
// described (kubectl explain shows it), and the schema is structural.
import { describe, expect, it } from 'vitest';
import { staleCrdFiles } from '../scripts/gen-crds.js';
import { chatBackendOpenApiSchema, type JsonSchema } from './crd.js';

function walk(node: JsonSchema, at: string, visit: (node: JsonSchema, at: string) => void): void {
  visit(node, at);
  const props = node.properties as Record<string, JsonSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) walk(v, `${at}.${k}`, visit);
  if (node.items && typeof node.items === 'object') walk(node.items as JsonSchema, `${at}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties as JsonSchema, `${at}{}`, visit);
}

describe('ChatBackend CRD generation', () => {
  it('crds/, the chart template and values.schema.json match `npm run gen:crds`', async () => {
    expect(await staleCrdFiles(), 'run `npm run gen:crds` and commit the result').toEqual([]);
  });

  it('describes every field of spec and status', () => {
    const undescribed: string[] = [];
    const schema = chatBackendOpenApiSchema();
    for (const root of ['spec', 'status']) {
      walk((schema.properties as Record<string, JsonSchema>)[root]!, root, (node, at) => {
        // Array items and map values are described by their parent field.
        if (!at.endsWith('[]') && !at.endsWith('{}') && typeof node.description !== 'string') undescribed.push(at);
      });
    }
    expect(undescribed).toEqual([]);
  });

  it('is structural: every field typed, int-or-string in the Kubernetes form, no additionalProperties: false', () => {
    const problems: string[] = [];
    walk(chatBackendOpenApiSchema(), '', (node, at) => {
      if (node.additionalProperties === false) problems.push(`${at}: additionalProperties false`);
      if (node['x-kubernetes-int-or-string'] === true) {
        if (node.type !== undefined) problems.push(`${at}: int-or-string with a type`);
      } else if (typeof node.type !== 'string') problems.push(`${at}: no type`);
    });
    expect(problems).toEqual([]);
  });
});
