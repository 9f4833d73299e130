// The only door to uWebSockets.js. The npm package silently swaps in a slow `ws`-based
// shim when its native binary fails to load; we load the native addon ourselves and
// refuse to start with the loader's own error instead.
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';

export function binaryPath(): string {
  return `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
}

let cached: typeof Uws | undefined;

export function loadUws(): typeof Uws {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require(binaryPath()) as typeof Uws;
  } catch (err) {
    throw new Error(
      `uWebSockets.js native binary did not load (${binaryPath()}, Node ABI ${process.versions.modules}): ${(err as Error).message}. ` +
        'chat-backend runs only on the native binary; use Node.js 20 on glibc >= 2.31.',
      { cause: err },
    );
  }
  return cached;
}
