// A stock AI SDK `useChat` page (@ai-sdk/react, built here with Vite) in a real browser,
// served through the ingress-like TLS proxy on the API's origin: it renders the answer as
// it streams from POST /api/v1/chat, tool call included, and ends with what was stored.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { createConversation } from '../helpers/ws-client.js';
import { startTlsProxy, type TlsProxy } from './nginx.js';
import { gotoPage, launchChromium } from './chromium.js';
import { missing } from './tools.js';

const skip = missing('chromium', 'nginx', 'openssl');
const QUESTION = 'What is 2^10? Please also tell me a long story about ships, lighthouses, storms and the sea.';

let tdb: TestDatabase & { db: Db };
let server: ServerProcess;
let proxy: TlsProxy;
let browser: Browser;
let demo: ServerProcess;
let demoProxy: TlsProxy;
const demoData = mkdtempSync(path.join(os.tmpdir(), 'e2e-demo-approval-'));
const outDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-use-chat-'));

describe.skipIf(skip !== undefined)(`a stock useChat page through a TLS ingress${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await build({ root: path.resolve(import.meta.dirname, 'use-chat'), base: './', logLevel: 'error', build: { outDir, emptyOutDir: true } });
    tdb = await createMigratedDatabase('usechat');
    server = await startServer({ ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '40' }, 'use-chat');
    proxy = await startTlsProxy(server.port, undefined, { statics: { '/use-chat/': outDir } });
    // the demo page in development mode, with the calculator behind an approval
    demo = await startServer({ DATABASE_URL: tdb.url, DATA_DIR: demoData, AGENT_TOKEN_DELAY_MS: '20', TOOL_APPROVAL: 'calculator=ask' }, 'demo-approval');
    demoProxy = await startTlsProxy(demo.port);
    await fetch(`${demo.url}/`); // builds the page bundle before any test's clock runs
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await demoProxy?.close();
    await Promise.all([server?.stop(), demo?.stop()]);
    rmSync(demoData, { recursive: true, force: true });
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
    await gotoPage(page, `${proxy.url}/use-chat/#token=${alice}&conv=${conv}`);
    await page.locator('#status[data-status="ready"]').waitFor({ timeout: 15_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\npage problems: ${problems.join('; ')}\nproxy errors: ${proxy.errorLog()}`);
    });
    // Every length the assistant's text had and every status the page went through, seen
    // from inside the page at each DOM change: a short answer can stream and finish
    // between two polls from outside, so intermediate states are recorded, not awaited.
    await page.evaluate(() => {
      const w = window as unknown as { __lengths: number[]; __statuses: string[] };
      const lengths: number[] = (w.__lengths = []);
      const statuses: string[] = (w.__statuses = []);
      new MutationObserver((records) => {
        for (const r of records) if (r.type === 'attributes' && r.attributeName === 'data-status' && r.oldValue) statuses.push(r.oldValue);
        const now = document.querySelector('#status')?.getAttribute('data-status');
        if (now && statuses.at(-1) !== now) statuses.push(now);
        const n = document.querySelector('.msg.assistant .text')?.textContent?.length ?? 0;
        if (n > 0 && lengths.at(-1) !== n) lengths.push(n);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-status'] });
    });
    await page.locator('#input').fill(QUESTION);
    await page.locator('#send').click();
    await page.locator('.msg.assistant .tool[data-state="output-available"]').waitFor({ timeout: 60_000 });
    // ready again after having streamed (the old values recorded include 'streaming')
    await page.waitForFunction(() => {
      const w = window as unknown as { __statuses: string[] };
      return w.__statuses.includes('streaming') && document.querySelector('#status')?.getAttribute('data-status') === 'ready';
    }, undefined, { timeout: 60_000 });

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

  it('shows approve and deny buttons on the demo page for a tool that asks, and each button decides', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await gotoPage(page, `${demoProxy.url}/`);
    await page.locator('#conn[data-state="ready"]').waitFor({ timeout: 45_000 });
    for (const [question, button, expected] of [['What is 2^10?', 'approve', '1024'], ['What is 6*7?', 'deny', 'denied by the user']] as const) {
      await page.fill('#input', question);
      await page.press('#input', 'Enter');
      const asking = page.locator('.msg.assistant .tool[data-approval-state="pending"]').last();
      await asking.locator(`button.${button}`).waitFor();
      await asking.locator(`button.${button}`).click();
      const decided = page.locator(`.msg.assistant .tool[data-approval-state="${button === 'approve' ? 'approved' : 'denied'}"]`).last();
      await decided.waitFor();
      await page.locator('.msg.assistant[data-status="complete"]').nth(button === 'approve' ? 0 : 1).waitFor({ timeout: 30_000 });
      const text = await page.locator('.msg.assistant[data-status="complete"] .text').nth(button === 'approve' ? 0 : 1).textContent();
      expect(text).toContain(expected);
    }
    const rows = await tdb.db.sql<{ approval: string; decided_by: string | null }[]>`
      SELECT approval, decided_by FROM tool_calls WHERE approval IS NOT NULL AND run_id IN (SELECT run_id FROM messages WHERE role = 'assistant') ORDER BY started_at DESC LIMIT 2`;
    expect(rows.map((r) => r.approval).sort()).toEqual(['approved', 'denied']);
    await context.close();
  });
});
