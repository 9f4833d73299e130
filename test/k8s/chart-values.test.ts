// The chart's values are documented and strictly typed: a comment above every key of
// values.yaml, and no object in values.schema.json that accepts keys it does not list.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartDir } from './harness/helm.js';

type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: unknown; then?: Schema };

describe('chart values', () => {
  it('has a comment above every key in values.yaml', async () => {
    const lines = (await readFile(path.join(chartDir, 'values.yaml'), 'utf8')).split('\n');
    const undocumented = lines.flatMap((line, i) => (/^\s*[A-Za-z_][\w-]*:/.test(line) && !lines[i - 1]?.trim().startsWith('#') ? [`${i + 1}: ${line.trim()}`] : []));
    expect(undocumented).toEqual([]);
  });

  it('closes every object of values.schema.json that lists its properties', async () => {
    const schema = JSON.parse(await readFile(path.join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
    const open: string[] = [];
    const walk = (node: Schema, at: string) => {
      if (node.properties && node.additionalProperties !== false) open.push(at || '(root)');
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${at}.${k}`);
      if (node.then) walk(node.then, `${at}(then)`);
    };
    walk(schema, '');
    // chatBackend(then) only adds the generated spec schema, which is itself closed.
    expect(open).toEqual(['.chatBackend(then)']);
  });
});
