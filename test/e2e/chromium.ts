// One way to start Chromium and open a page for the browser suites.
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { tools } from './tools.js';

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: tools.chromium, headless: true, args: LAUNCH_ARGS, timeout: 60_000 });
}

// Chromium aborts a navigation with net::ERR_NETWORK_CHANGED whenever the host's addresses
// change, and in CI the real-node Kubernetes suite adds and removes interfaces (pod veths,
// the CNI bridge) on the same host while these suites run. The same abort can hit one of
// the page's scripts after the document itself loaded, leaving a page that never starts.
// Neither says anything about the page under test, so the load is tried again; any other
// failure is the test's.
export async function gotoPage(page: Page, url: string, attempts = 4): Promise<void> {
  for (let i = 1; ; i++) {
    const aborted: string[] = [];
    const onFailed = (r: Request) => { if (/ERR_NETWORK_CHANGED/.test(r.failure()?.errorText ?? '')) aborted.push(r.url()); };
    page.on('requestfailed', onFailed);
    try {
      // a retry of the same URL reloads: goto to the current URL with a #fragment would not
      if (page.url() === url) await page.reload({ waitUntil: 'load' });
      else await page.goto(url, { waitUntil: 'load' });
      if (aborted.length === 0) return;
      if (i >= attempts) throw new Error(`loading ${url}: ${aborted.join(', ')} aborted with net::ERR_NETWORK_CHANGED on each of ${attempts} attempts`);
    } catch (err) {
      if (i >= attempts || !/ERR_NETWORK_CHANGED/.test(String(err))) throw err;
    } finally {
      page.off('requestfailed', onFailed);
    }
  }
}
