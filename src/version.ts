// The package version, read from package.json whether running from src/ (tsx) or dist/src/.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function find(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

export const VERSION = find();
