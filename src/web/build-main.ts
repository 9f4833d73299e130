// `npm run build` step: writes the bundled demo page next to the compiled server, where
// assets.ts finds it in the image (which has no esbuild and no TypeScript sources).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWeb } from './build.js';

const src = path.resolve('src/web');
const out = path.resolve('dist/src/web/public');
const assets = await bundleWeb(src);
await mkdir(out, { recursive: true });
await Promise.all([
  writeFile(path.join(out, 'index.html'), assets.html),
  writeFile(path.join(out, 'app.js'), assets.js),
  writeFile(path.join(out, 'app.css'), assets.css),
]);
console.log(`demo page bundled into ${path.relative(process.cwd(), out)} (app.js ${Math.round(assets.js.length / 1024)} KiB)`);
