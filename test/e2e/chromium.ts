// One way to start Chromium and open a page for the browser suites.
import { chromium, type Browser, type Page } from 'playwright-core';
import { tools } from './tools.js';

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: tools.chromium, headless: true, args: LAUNCH_ARGS, timeout: 60_000 });
}

// Chromium aborts a navigation with net::ERR_NETWORK_CHANGED whenever the host's addresses
// change, and in CI the real-node Kubernetes suite adds and removes interfaces (pod veths,
// the CNI bridge) on the same host while these suites run. That abort says nothing about
// the page under test, so the navigation is tried again; any other failure is the test's.
export async function gotoPage(page: Page, url: string, attempts = 4): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await page.goto(url);
      return;
    } catch (err) {
      if (i >= attempts || !/ERR_NETWORK_CHANGED/.test(String(err))) throw err;
    }
  }
}
