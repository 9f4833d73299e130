// postgres.js 3.4.9 ends the process when a connection pinned by sql.begin() or
// sql.reserve() loses its socket under a query (see client.ts): no code may pin one. The Sql
// type makes both uncallable; this catches a client made or typed some other way.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sql } from './client.js';

const SRC = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [p] : [];
  });
}

// Calls of a method named begin or reserve, except the in-flight counter's and a class's own.
const PINNING = /(?<!\binflight|\bthis)\.(begin|reserve)\s*\(/g;

// Comments (which may name the calls to explain their absence) are left out.
function pinningCalls(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  return [...code.matchAll(PINNING)].map((m) => m[0]);
}

describe('no connection pinned by sql.begin() or sql.reserve()', () => {
  it('finds both forms, and not the in-flight counter', () => {
    expect(pinningCalls('await db.sql.begin(async (tx) => x); const c = await sql.reserve();')).toEqual(['.begin(', '.reserve(']);
    expect(pinningCalls('deps.inflight.begin(); g.inflight.begin(); this.begin(); // not sql.begin()')).toEqual([]);
  });

  it('no source file under src/ calls either', () => {
    const found = sources(SRC).flatMap((f) => pinningCalls(readFileSync(f, 'utf8')).map((c) => `${path.relative(SRC, f)}: ${c}`));
    expect(found).toEqual([]);
  });

  it('the Sql type offers neither (a compile error if it did)', () => {
    const typed = (sql: Sql) => {
      // @ts-expect-error begin is never on Sql
      void sql.begin(async () => undefined);
      // @ts-expect-error reserve is never on Sql
      void sql.reserve();
    };
    expect(typeof typed).toBe('function');
  });
});
