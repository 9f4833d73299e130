// The demo page in a real browser (Debian's chromium through playwright-core) behind an
// ingress-like TLS proxy (nginx, self-signed certificate): the page loads over https,
// talks over wss, streams an answer with its tool call, survives the ingress dropping
// every connection mid-answer, and ends with exactly what PostgreSQL stored.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { freePort, startTlsProxy, type TlsProxy } from './nginx.js';
import { gotoPage, launchChromium } from './chromium.js';
import { missing } from './tools.js';

const skip = missing('chromium', 'nginx', 'openssl');
const SHOTS = path.resolve('test-results/e2e');
const LONG = 'Please tell me a long and winding story about ships, lighthouses, storms, harbours, sailors and the sea, with many details about each of them.';

let tdb: TestDatabase & { db: Db };
let server: ServerProcess;
let proxy: TlsProxy;
let browser: Browser;
const contexts: BrowserContext[] = [];
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-browser-'));

async function stored(conv: string) {
  return tdb.db.sql<{ role: string; status: string; content: string }[]>`
    SELECT role, status, content FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
}

async function openPage(viewport = { width: 1280, height: 800 }, hash = ''): Promise<{ page: Page; problems: string[]; sockets: string[] }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  const sockets: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // the browser logs every refused reconnect attempt while the ingress is down
    if (m.type() === 'error' && !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  await gotoPage(page, `${proxy.url}/${hash}`);
  try {
    await page.locator('#conn[data-state="ready"]').waitFor({ timeout: 45_000 });
  } catch (err) {
    // say where the page stopped: its connection state, its sockets, and the server's last words
    const state = await page.locator('#conn').getAttribute('data-state').catch(() => null);
    throw new Error(`the page never became ready (state ${state}; sockets ${JSON.stringify(sockets)}; problems ${JSON.stringify(problems)}; failed requests ${JSON.stringify(failed)}); server log tail:\n${server.lines.slice(-30).join('\n')}`, { cause: err });
  }
  return { page, problems, sockets };
}

interface Streaming { toolWhileOpen: boolean; lengths: number[] }

// Records, from inside the page, what the streaming answer looked like at every DOM change.
// Polling from the test instead (waitForFunction) races the stream: on a loaded machine a
// short answer can finish between two polls, and the intermediate state is never seen.
async function watchStreaming(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Streaming = { toolWhileOpen: false, lengths: [] };
    (window as unknown as { __streaming: Streaming }).__streaming = seen;
    new MutationObserver(() => {
      const msg = document.querySelector('.msg.assistant[data-status="streaming"]');
      if (!msg) return;
      if (msg.querySelector('details.work[open] .tool[data-tool="calculator"]')) seen.toolWhileOpen = true;
      const text = msg.querySelector('.text');
      // the text without the "writing…" placeholder shown before the first token
      const n = [...(text?.childNodes ?? [])].filter((c) => c.nodeType === Node.TEXT_NODE).map((c) => c.textContent ?? '').join('').length;
      if (n > 0 && seen.lengths.at(-1) !== n) seen.lengths.push(n);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

const conversationOf = (page: Page) => new URL(page.url()).hash.slice(1);
const answerText = (page: Page) => page.locator('.msg.assistant .text').first().evaluate((el) => el.textContent ?? '');

// Chromium shares the 2 cores with the Kubernetes suites in CI: generous limits guard
// against hangs without turning load into failures (speed is the benchmark's job).
describe.skipIf(skip !== undefined)(`the demo page in a browser through a TLS ingress${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tdb = await createMigratedDatabase('browser');
    const port = await freePort();
    // development mode (no JWT_*): the page gets its token from /api/dev/token; 100 ms a word
    // keeps the long answer streaming (~8 s) through the ingress outage of the last test
    server = await startServer({ DATABASE_URL: tdb.url, DATA_DIR: dataDir, AGENT_TOKEN_DELAY_MS: '100', ALLOWED_ORIGINS: `https://127.0.0.1:${port}` }, 'browser');
    proxy = await startTlsProxy(server.port, port);
    browser = await launchChromium();
    // The page bundle is built on its first request; do that before any test's clock runs.
    await fetch(`${server.url}/`);
  }, 180_000);

  // each test's tabs leave with it, so presence counts only the next test's own
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
    await tdb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads over https, chats over wss, and shows thinking, a tool call and the streamed answer as stored', async () => {
    const { page, problems, sockets } = await openPage();
    expect(page.url()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#[0-9a-f-]{36}$/);
    expect(sockets[0]).toBe(`wss://127.0.0.1:${proxy.port}/ws/conversations/${conversationOf(page)}`);
    await watchStreaming(page);
    await page.fill('#input', 'What is 12*(3+4)?');
    await page.press('#input', 'Enter');
    await page.locator('.msg.assistant[data-status="complete"]').waitFor({ timeout: 60_000 });
    const text = await answerText(page);
    expect(text).toContain('84');
    // while it streamed: the work block was open with the tool call, and the text grew
    const seen = await page.evaluate(() => (window as unknown as { __streaming: Streaming }).__streaming);
    expect(seen.toolWhileOpen).toBe(true);
    expect(seen.lengths.length).toBeGreaterThanOrEqual(2); // "12*(3+4) = 84" arrives in three word-sized deltas
    expect(seen.lengths).toEqual([...seen.lengths].sort((x, y) => x - y));
    expect(seen.lengths.at(-1)).toBeLessThanOrEqual(text.length);
    const rows = await stored(conversationOf(page));
    expect(rows).toEqual([
      { role: 'user', status: 'complete', content: 'What is 12*(3+4)?' },
      { role: 'assistant', status: 'complete', content: text },
    ]);
    await expect(page.locator('.msg.assistant .tool .tool-out').first().textContent()).resolves.toContain('84');
    expect(await page.locator('.msg.assistant .thinking').count()).toBeGreaterThan(0);
    expect(await page.locator('#title').textContent()).toBe('What is 12*(3+4)?');
    // the finished work block folds away but stays one click from view
    expect(await page.locator('.msg.assistant details.work').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await page.locator('.msg.assistant details.work summary').click();
    await page.screenshot({ path: path.join(SHOTS, 'chat-desktop.png') });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(400); // the sidebar slides away (0.2 s transition)
    const layout = await page.evaluate(() => {
      const r = (sel: string) => document.querySelector(sel)!.getBoundingClientRect();
      return { overflow: document.documentElement.scrollWidth - window.innerWidth, composer: r('#composer'), sidebar: r('.sidebar'), answer: r('.msg.assistant') };
    });
    expect(layout.overflow).toBeLessThanOrEqual(0);
    expect(layout.composer.bottom).toBeLessThanOrEqual(844);
    expect(layout.composer.width).toBeGreaterThan(350);
    expect(layout.sidebar.right).toBeLessThanOrEqual(0); // off-canvas until ☰
    expect(layout.answer.right).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(SHOTS, 'chat-phone.png') });
    await page.click('#menu');
    await page.waitForFunction(() => document.querySelector('.sidebar')!.getBoundingClientRect().left >= 0);
    expect(problems).toEqual([]);
  });

  it('shows presence and typing from a second tab', async () => {
    const a = await openPage();
    const conv = conversationOf(a.page);
    const b = await openPage({ width: 1280, height: 800 }, `#${conv}`);
    expect(conversationOf(b.page)).toBe(conv);
    await a.page.locator('#presence', { hasText: '2 open here' }).waitFor();
    await b.page.fill('#input', 'typing something');
    await b.page.locator('#input').dispatchEvent('input');
    await a.page.locator('#typing:not([hidden])').waitFor();
    expect(a.problems.concat(b.problems)).toEqual([]);
  });

  it('shows reconnecting when the ingress drops mid-answer, then the complete answer once', async () => {
    const { page, problems } = await openPage();
    const previous = conversationOf(page);
    await page.click('#new');
    await page.waitForFunction((old) => location.hash.slice(1) !== old, previous);
    await page.locator('#conn[data-state="ready"]').waitFor();
    const conv = conversationOf(page);
    expect(await page.locator('.msg').count()).toBe(0);
    await page.fill('#input', LONG);
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => (document.querySelector('.msg.assistant[data-status="streaming"] .text')?.textContent ?? '').length > 20);
    await proxy.stop(); // every connection drops, as when an ingress controller restarts
    await page.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#conn').textContent()).toMatch(/^Reconnecting/);
    expect(await page.locator('#conn-detail').textContent()).toMatch(/^The connection was lost\. Reconnecting automatically/);
    await page.screenshot({ path: path.join(SHOTS, 'chat-reconnecting.png') });
    await new Promise((r) => setTimeout(r, 800));
    expect((await stored(conv))[1]!.status).toBe('streaming'); // the answer went on meanwhile
    await proxy.start();
    await page.locator('.msg.assistant[data-status="complete"]').waitFor({ timeout: 60_000 });
    await page.locator('#conn[data-state="ready"]').waitFor();
    const rows = await stored(conv);
    expect(rows.map((r) => `${r.role}:${r.status}`)).toEqual(['user:complete', 'assistant:complete']);
    expect(await answerText(page)).toBe(rows[1]!.content);
    expect(await page.locator('.msg.assistant').count()).toBe(1);
    expect(await page.locator('.msg.user').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
