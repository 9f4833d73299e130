// The streaming bench's Go harness is measured by, not part of, the product; its own Go
// tests (the token stamp read back exactly, answers in repeating words) run here so that a
// broken harness fails CI instead of printing wrong figures.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('bench/loadgen', () => {
  it('passes its Go tests', () => {
    const out = execFileSync('go', ['test', '-count=1', './...'], {
      cwd: here, encoding: 'utf8', timeout: 300_000,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false -modcacherw' },
    });
    expect(out).toMatch(/^ok\s/m);
  }, 320_000);
});
