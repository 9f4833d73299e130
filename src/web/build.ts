// Bundles the demo page (main.ts and the client SDK it uses) into one browser script with
// esbuild. Runs at `npm run build` for the image, and in memory at the first request when
// the server runs from source (`npm start`), so both always serve the current page.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface WebAssets {
  html: string;
  js: string;
  css: string;
}

export async function bundleWeb(srcDir: string): Promise<WebAssets> {
  // a dev dependency: only `npm run build` and runs from source get here
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path.join(srcDir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    // the SDK's Node fallback; browsers always have a global WebSocket
    external: ['ws'],
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]?.text;
  if (js === undefined) throw new Error('esbuild produced no output');
  const [html, css] = await Promise.all([readFile(path.join(srcDir, 'index.html'), 'utf8'), readFile(path.join(srcDir, 'app.css'), 'utf8')]);
  return { html, js, css };
}
