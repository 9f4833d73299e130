// Where the demo page comes from: the bundle `npm run build` wrote beside the compiled
// server (production image), else a fresh in-memory bundle of the sources (npm start).
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebAssets } from './build.js';

export type { WebAssets };

const here = import.meta.dirname;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export async function loadWebAssets(dir = here): Promise<WebAssets> {
  const built = path.join(dir, 'public');
  if (await exists(path.join(built, 'app.js'))) {
    const [html, js, css] = await Promise.all(['index.html', 'app.js', 'app.css'].map((f) => readFile(path.join(built, f), 'utf8')));
    return { html: html!, js: js!, css: css! };
  }
  if (await exists(path.join(dir, 'main.ts'))) {
    const { bundleWeb } = await import('./build.js');
    return bundleWeb(dir);
  }
  throw new Error(`the demo page is not built: no ${path.join(built, 'app.js')} (run npm run build)`);
}
