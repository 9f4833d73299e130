// The newcomer's path through the demo page in Chromium: a rejected token reopens the
// sign-in dialog with the server's reason (and a good one then works), and a document
// added from the page is what "search my notes for …" finds.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { gotoPage, launchChromium } from './chromium.js';
import { missing } from './tools.js';

const skip = missing('chromium');

let tdb: TestDatabase & { db: Db };
let dev: ServerProcess;
let prod: ServerProcess;
let browser: Browser;
const contexts: BrowserContext[] = [];
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-newcomer-'));

async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await gotoPage(page, url);
  return { page, problems };
}

describe.skipIf(skip !== undefined)(`the demo page for a newcomer${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    tdb = await createMigratedDatabase('newcomer');
    dev = await startServer({ DATABASE_URL: tdb.url, DATA_DIR: dataDir, AGENT_TOKEN_DELAY_MS: '1' }, 'newcomer-dev');
    prod = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '1' }, 'newcomer-prod');
    browser = await launchChromium();
    // The page bundle is built on its first request; do that before any test's clock runs.
    await Promise.all([fetch(`${dev.url}/`), fetch(`${prod.url}/`)]);
  }, 180_000);

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
    await prod?.stop();
    await tdb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reopens sign-in with the reason after a rejected token, and a good token then chats', async () => {
    const { page, problems } = await openPage(prod.url);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.fill('#token-input', 'not.a.token');
    await page.click('#token-form button[type="submit"]');
    await page.locator('#token-why', { hasText: 'rejected' }).waitFor();
    expect(await dialog.isVisible()).toBe(true);
    expect(await page.locator('#token-why').textContent()).toMatch(/malformed/);
    expect(await page.locator('#mode').textContent()).toBe('Not signed in');
    expect(await page.locator('#conn').textContent()).toBe('Signed out');
    await page.fill('#token-input', await token('newcomer'));
    await page.click('#token-form button[type="submit"]');
    await page.locator('#conn[data-state="ready"]').waitFor({ timeout: 45_000 });
    expect(await dialog.isVisible()).toBe(false);
    expect(await page.locator('#mode').textContent()).toBe('Signed in with your token');
    expect(problems).toEqual([]);
  });

  it('stores a document from the page, and "search my notes for …" finds it', async () => {
    const { page, problems } = await openPage(dev.url);
    await page.locator('#conn[data-state="ready"]').waitFor({ timeout: 45_000 });
    await page.click('#add-doc');
    // An empty document is refused in the dialog, which keeps what was typed.
    await page.fill('#doc-title', 'Home network');
    await page.click('#doc-form button[type="submit"]');
    await page.locator('#doc-error', { hasText: 'empty' }).waitFor();
    expect(await page.inputValue('#doc-title')).toBe('Home network');
    await page.setInputFiles('#doc-file', { name: 'wifi.md', mimeType: 'text/markdown', buffer: Buffer.from('# Wifi\n\nThe wifi password is lighthouse-42, on the router label.\n') });
    await page.waitForFunction(() => (document.getElementById('doc-text') as HTMLTextAreaElement).value.includes('lighthouse-42'));
    await page.click('#doc-form button[type="submit"]');
    await page.locator('#banner', { hasText: 'Stored “Home network”' }).waitFor();
    const rows = await tdb.db.sql<{ title: string; content_type: string }[]>`SELECT title, content_type FROM documents WHERE user_id = 'demo'`;
    expect(rows).toEqual([{ title: 'Home network', content_type: 'text/markdown' }]);

    await page.fill('#input', 'search my notes for the wifi password');
    await page.press('#input', 'Enter');
    await page.locator('.msg.assistant[data-status="complete"] .text', { hasText: 'lighthouse-42' }).waitFor({ timeout: 45_000 });
    expect(problems).toEqual([]);
  });
});
