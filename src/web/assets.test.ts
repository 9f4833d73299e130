// The page is served from the bundle `npm run build` wrote, else bundled from source.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWebAssets } from './assets.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'web-assets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadWebAssets', () => {
  it('prefers the prebuilt bundle beside the compiled server', async () => {
    mkdirSync(path.join(tmp, 'built/public'), { recursive: true });
    for (const [f, text] of [['index.html', '<p>built</p>'], ['app.js', 'built()'], ['app.css', 'p{}']]) writeFileSync(path.join(tmp, 'built/public', f!), text!);
    expect(await loadWebAssets(path.join(tmp, 'built'))).toEqual({ html: '<p>built</p>', js: 'built()', css: 'p{}' });
  });

  it('bundles the sources when there is no build, without the server-side validation code', async () => {
    const a = await loadWebAssets(import.meta.dirname);
    expect(a.html).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(a.js).toContain('"auth"');
    expect(a.js).not.toMatch(/zod|ZodError/);
    expect(a.js.length).toBeLessThan(100_000);
    expect(a.css).toContain('@media (max-width: 720px)');
  });

  it('says how to fix a missing build', async () => {
    mkdirSync(path.join(tmp, 'empty'));
    await expect(loadWebAssets(path.join(tmp, 'empty'))).rejects.toThrow(/not built.*npm run build/);
  });
});
