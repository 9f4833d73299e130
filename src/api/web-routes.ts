// The demo chat page at / and its bundled assets, plus the development-only endpoint
// that hands the page a token for the demo user. That endpoint is registered only in
// development mode: in production the path is unknown like any other.
import { signToken } from '../auth/dev-token.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { loadWebAssets, type WebAssets } from '../web/assets.js';
import { landingPage } from './docs-page.js';
import { isLoopbackHost } from '../core/loopback.js';
import { AppError } from '../protocol/errors.js';
import { ErrorJson } from '../protocol/rest.js';
import { route, type Route } from './route.js';

export const DEMO_USER = 'demo';
const DEMO_TOKEN_TTL_S = 15 * 60;

// The page talks only to this origin; no inline script, no third party.
const PAGE_HEADERS = {
  'Cache-Control': 'no-cache',
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

export interface WebDeps {
  jwt: Config['jwt'];
  devSecret: string | undefined;
  version: string;
  log: Logger;
  load?: () => Promise<WebAssets>;
}

export function webRoutes(d: WebDeps): Route[] {
  let assets: Promise<WebAssets | undefined> | undefined;
  // Built on first use, so servers that never serve the page never pay for the bundle.
  const get = () => (assets ??= (d.load ?? loadWebAssets)().catch((err: unknown) => {
    d.log.error({ err_message: (err as Error).message }, 'demo page unavailable; serving the landing page');
    return undefined;
  }));
  const asset = (kind: 'js' | 'css', contentType: string) => async () => {
    const a = await get();
    if (a === undefined) return { status: 404, body: { error: { code: 'route_not_found', message: 'the demo page is not built' } } };
    return { status: 200, raw: { contentType, text: a[kind] }, headers: { 'Cache-Control': 'no-cache' } };
  };
  const routes: Route[] = [
    route({
      method: 'get', path: '/', tag: 'demo', auth: false,
      summary: 'Demo chat page',
      responses: { 200: { description: 'HTML' } },
      handler: async () => {
        const a = await get();
        return { status: 200, raw: { contentType: 'text/html; charset=utf-8', text: a?.html ?? landingPage(d.version) }, headers: PAGE_HEADERS };
      },
    }),
    route({
      method: 'get', path: '/assets/app.js', tag: 'demo', auth: false,
      summary: 'Demo page script (bundled client SDK)',
      responses: { 200: { description: 'JavaScript' }, 404: { description: 'the page is not built' } },
      handler: asset('js', 'text/javascript; charset=utf-8'),
    }),
    route({
      method: 'get', path: '/assets/app.css', tag: 'demo', auth: false,
      summary: 'Demo page styles',
      responses: { 200: { description: 'CSS' }, 404: { description: 'the page is not built' } },
      handler: asset('css', 'text/css; charset=utf-8'),
    }),
  ];
  const { devSecret, jwt } = d;
  if (jwt.mode.kind === 'development' && devSecret !== undefined) {
    routes.push(route({
      method: 'get', path: '/api/dev/token', tag: 'demo', auth: false,
      summary: `Development mode only: a ${DEMO_TOKEN_TTL_S / 60}-minute token for the user "${DEMO_USER}"`,
      responses: { 200: { description: '{token, user_id, expires_at}' }, 403: { description: 'the request\'s Host is not a loopback name', schema: ErrorJson } },
      handler: async (ctx) => {
        // A page on any other name that resolves here (DNS rebinding) sends that name.
        if (!isLoopbackHost(ctx.host)) {
          throw new AppError('forbidden', `development tokens are handed out only to requests for a loopback host (localhost, 127.0.0.1, [::1]); Host was ${JSON.stringify(ctx.host.slice(0, 100))}`);
        }
        const token = await signToken(jwt, devSecret, { sub: DEMO_USER, ttlSeconds: DEMO_TOKEN_TTL_S });
        const expires_at = new Date(Date.now() + DEMO_TOKEN_TTL_S * 1000).toISOString();
        return { status: 200, body: { token, user_id: DEMO_USER, expires_at }, headers: { 'Cache-Control': 'no-store' } };
      },
    }));
  }
  return routes;
}
