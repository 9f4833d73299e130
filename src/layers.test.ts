// The direction of imports, checked over the source tree:
// protocol → core → adapters (db, auth, agent, bus, metrics) → api → transport → main.
// A module may import its own layer and those before it; core defines the ports that the
// adapters bind, so no adapter reaches another one (metrics excepted: every part records
// them), and the REST handlers (api) see core's domain types, never database rows.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.dirname(fileURLToPath(import.meta.url));

type Layer = 'shared' | 'protocol' | 'core' | 'adapter' | 'api' | 'transport' | 'main' | 'client' | 'web';
const ADAPTERS = new Set(['db', 'auth', 'agent', 'bus', 'metrics']);
const RANK: Record<Layer, number> = { shared: -1, protocol: 0, core: 1, adapter: 2, api: 3, transport: 4, main: 5, client: -2, web: -2 };

// The first directory under src/ names the layer; the top-level files are main (composition,
// CLI) or shared (configuration, logging, version: read by every layer).
function unitOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

function layerOf(unit: string): Layer {
  if (ADAPTERS.has(unit)) return 'adapter';
  switch (unit) {
    case 'protocol': case 'core': case 'api': case 'transport': case 'client': case 'web': return unit;
    case 'server': case 'main': case 'closers': return 'main';
    case 'config': case 'config-vars': case 'log': case 'version': return 'shared';
    default: throw new Error(`src/${unit}: not in any layer; add it to layers.test.ts`);
  }
}

// Imports that break the rule today, each with the change that removes it. A new one fails.
const KNOWN: Record<string, string> = {
  'core/gateway.ts → metrics/metrics.ts': 'type only: core records into the Metrics registry type',
  'core/runs.ts → metrics/metrics.ts': 'type only: core records into the Metrics registry type',
  'core/session-context.ts → metrics/metrics.ts': 'type only: core records into the Metrics registry type',
};

function violation(fromFile: string, toFile: string): string | undefined {
  if (path.relative(SRC, toFile).startsWith('..')) return layerOf(unitOf(fromFile)) === 'main' ? undefined : 'only main reaches outside src/ (the operator)';
  const a = unitOf(fromFile);
  const b = unitOf(toFile);
  if (a === b) return undefined;
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la === 'client') return lb === 'protocol' ? undefined : 'the client SDK depends on the protocol only';
  if (la === 'web') return lb === 'client' || lb === 'protocol' ? undefined : 'the web app depends on the client SDK and the protocol only';
  if (lb === 'client') return 'only the web app uses the client SDK';
  if (lb === 'web') return la === 'api' ? undefined : 'only the api serves the web app';
  if (la === 'shared') return lb === 'shared' || lb === 'protocol' || lb === 'core' ? undefined : 'configuration and logging sit below the adapters';
  if (lb === 'shared') return undefined;
  if (la === 'adapter' && lb === 'adapter') return b === 'metrics' ? undefined : `adapters do not import each other (${a} → ${b}): the port belongs in core`;
  if (la === 'api' && b === 'db') return 'REST handlers see core domain types, not database rows';
  return RANK[lb] <= RANK[la] ? undefined : `${la} must not import ${lb} (imports flow protocol → core → adapters → api → transport → main)`;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

describe('import direction', () => {
  const files = sources(SRC);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(importsOf(path.join(SRC, 'server.ts'))).toContain('./db/client.js');
  });

  it('every import follows the layers (protocol → core → adapters → api → transport → main)', () => {
    const broken: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(f)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec).replace(/\.js$/, '.ts');
        const why = violation(f, target);
        const edge = `${path.relative(SRC, f)} → ${path.relative(SRC, target)}`;
        if (why !== undefined && !(edge in KNOWN)) broken.push(`${edge}: ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('only src/transport/ imports uWebSockets.js', () => {
    const importers = files.filter((f) => importsOf(f).includes('uWebSockets.js')).map((f) => path.relative(SRC, f));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => !f.startsWith(`transport${path.sep}`))).toEqual([]);
  });

  it('names what breaks the rule', () => {
    const at = (p: string) => path.join(SRC, p);
    expect(violation(at('agent/embeddings/document-service.ts'), at('db/documents.ts'))).toMatch(/adapters do not import each other \(agent → db\)/);
    expect(violation(at('db/cache.ts'), at('agent/cache/response-cache.ts'))).toMatch(/adapters do not import each other \(db → agent\)/);
    expect(violation(at('api/document-routes.ts'), at('db/documents.ts'))).toMatch(/REST handlers/);
    expect(violation(at('core/session.ts'), at('transport/ws.ts'))).toMatch(/core must not import transport/);
    expect(violation(at('protocol/rest.ts'), at('core/message.ts'))).toMatch(/protocol must not import core/);
    expect(violation(at('db/messages.ts'), at('core/message.ts'))).toBeUndefined();
    expect(violation(at('db/client.ts'), at('metrics/metrics.ts'))).toBeUndefined();
  });
});
