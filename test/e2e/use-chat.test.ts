// A stock AI SDK `useChat` page (@ai-sdk/react, built here with Vite) in a real browser,
// served through the ingress-like TLS proxy on the API's origin: it renders the answer as
// it streams from POST /api/v1/chat, tool call included, and ends with what was stored.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { createConversation } from '../helpers/ws-client.js';
import { startTlsProxy, type TlsProxy } from './nginx.js';
import { missing, tools } from './tools.js';

const skip = missing('chromium', 'nginx', 'openssl');
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const QUESTION = 'What is 2^10? Please also tell me a long story about ships, lighthouses, storms and the sea.';

let tdb: TestDatabase & { db: Db };
let server: ServerProcess;
let proxy: TlsProxy;
let browser: Browser;
const outDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-use-chat-'));

describe.skipIf(skip !== undefined)(`a stock useChat page through a TLS ingress${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await build({ root: path.resolve(import.meta.dirname, 'use-chat'), base: './', logLevel: 'error', build: { outDir, emptyOutDir: true } });
    tdb = await createMigratedDatabase('usechat');
    server = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '40' }, 'use-chat');
    proxy = await startTlsProxy(server.port, undefined, { '/use-chat/': outDir });
    browser = await chromium.launch({ executablePath: tools.chromium, headless: true, args: LAUNCH_ARGS, timeout: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
    await tdb?.drop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('renders the answer as it streams, with its tool call, ending with the stored text', async () => {
    const alice = await token('alice');
    const conv = await createConversation(server.url, alice);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.goto(`${proxy.url}/use-chat/#token=${alice}&conv=${conv}`);
    await page.locator('#status[data-status="ready"]').waitFor({ timeout: 15_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\npage problems: ${problems.join('; ')}\nproxy errors: ${proxy.errorLog()}`);
    });
    // Every length the assistant's text had, seen from inside the page at each DOM change.
    await page.evaluate(() => {
      const lengths: number[] = [];
      (window as unknown as { __lengths: number[] }).__lengths = lengths;
      new MutationObserver(() => {
        const n = document.querySelector('.msg.assistant .text')?.textContent?.length ?? 0;
        if (n > 0 && lengths.at(-1) !== n) lengths.push(n);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.locator('#input').fill(QUESTION);
    await page.locator('#send').click();
    await page.locator('#status[data-status="streaming"]').waitFor();
    await page.locator('.msg.assistant .tool[data-state="output-available"]').waitFor();
    await page.locator('#status[data-status="ready"]').waitFor({ timeout: 60_000 });

    const rows = await tdb.db.sql<{ role: string; status: string; content: string }[]>`SELECT role, status, content FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
    expect(rows.map((r) => [r.role, r.status])).toEqual([['user', 'complete'], ['assistant', 'complete']]);
    expect(rows[0]!.content).toBe(QUESTION);
    expect(rows[1]!.content).toContain('1024');
    expect(await page.locator('.msg.assistant .text').allTextContents()).toEqual([rows[1]!.content]);
    expect(await page.locator('.msg.assistant .tool').textContent()).toBe('calculator');
    const lengths = await page.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
    expect(lengths.length).toBeGreaterThan(2); // it streamed in, not all at once
    expect(problems).toEqual([]);
    await context.close();
  });
});
