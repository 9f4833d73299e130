// The README is part of the contract: its configuration table and its two commands must
// match the code and .ci/run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARS } from '../../src/config.js';

const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it('documents every configuration variable with its default', () => {
    for (const [name, spec] of Object.entries(CONFIG_VARS)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      if ('default' in spec) expect(row, name).toContain(`\`${spec.default}\``);
    }
  });

  it('gives the test command that .ci/run runs', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    expect(readme).toContain('npm ci && npm test');
    expect(ci.split('\n').filter((l) => l.trim() === 'npm ci && npm test')).toHaveLength(1);
    expect(readme).toContain('npm ci && npm start');
  });
});
