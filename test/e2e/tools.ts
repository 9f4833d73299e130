// The system tools the end-to-end suites drive. Outside CI a missing tool skips the suite
// with the reason; under CI=true it fails it, so a green CI never hides a skipped suite.
import { accessSync, constants } from 'node:fs';
import { skipOrFail } from '../helpers/skip.js';

export const CHROMIUM = '/usr/bin/chromium';

function findExecutable(name: string, candidates: string[]): string | undefined {
  const dirs = [...candidates, ...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => `${d}/${name}`)];
  for (const p of dirs) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      continue; // not here: try the next place
    }
  }
  return undefined;
}

export interface Tools {
  chromium: string | undefined;
  nginx: string | undefined;
  openssl: string | undefined;
}

export const tools: Tools = {
  chromium: findExecutable('chromium', [CHROMIUM]),
  nginx: findExecutable('nginx', ['/usr/sbin/nginx']),
  openssl: findExecutable('openssl', ['/usr/bin/openssl']),
};

// Why the suite cannot run here, or undefined when it can. Throws under CI.
export function missing(...needed: (keyof Tools)[]): string | undefined {
  const absent = needed.filter((t) => tools[t] === undefined);
  if (absent.length === 0) return undefined;
  return skipOrFail(`not installed: ${absent.join(', ')} (apt-get install chromium nginx-light openssl)`, (r) => `end-to-end tools missing under CI: ${r}`);
}
