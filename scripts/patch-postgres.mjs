// Patches postgres.js 3.4.9 (the newest release) in node_modules, run by `npm ci`
// (postinstall) and by the Dockerfile. Defects of the driver, seen here when PostgreSQL
// restarts (`pg_ctl restart -m immediate`) or backends are terminated, not fixed upstream
// yet (test/integration/pg-driver-faults.test.ts fails without them):
//
// 1. A connection whose socket closed kept the statement it was running and the error
// PostgreSQL sent before closing (57P01 when a backend is terminated or PostgreSQL
// shuts down), and replayed that error on the first query after its reconnect
// succeeded. When the statement was the array-types fetch of a new connection, the
// error also escaped as an unhandled rejection that ends the process
// (porsager/postgres#1223, #1192, #1205). A statement sent on a connection between its
// socket's error (a reset) and its close stayed queued across the reconnect, never
// settled, and every later statement on that connection waited behind it. A closed socket
// now leaves nothing behind: every statement still on it is refused, and the types
// promise has a handler.
// 2. Closing a socket with a small write still scheduled (setImmediate) cancelled the
// timer but left its handle and the bytes behind, so the connection never wrote again:
// each later connect sent nothing and failed with CONNECT_TIMEOUT, query after query
// (LanternOps/breeze#3225). Closing now forgets both.
//
// Idempotent; fails loudly when the driver's source is not the one patched here (a new
// version: check whether it still needs this, then update or drop the patch).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const MARK = '/* chat-backend patch 2 */';

const EDITS = [
  {
    what: 'the array-types fetch of a new connection has a handler',
    from: '        return fetchArrayTypes()\n',
    to: `        return fetchArrayTypes().catch(noop) ${MARK} // its error reached the query waiting to run: errored()\n`,
  },
  {
    what: 'a reconnect during startup drops the statement and error of the old socket',
    from: '    if (initial)\n      return reconnect()\n',
    to: `    if (initial) { ${MARK}\n      query && query !== initial && queryError(query, Errors.connection('CONNECTION_CLOSED', options))\n      query = results = errorResponse = null\n      result = new Result()\n      return reconnect()\n    }\n`,
  },
  {
    what: 'a closed socket leaves no statement or error behind for the next connection',
    from: "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    // (also after an error: a statement queued between the socket's error and its close
    // would otherwise wait in `sent` and take the reply of another after the reconnect)
    to: `    (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket)) ${MARK}\n    query = results = errorResponse = null\n    result = new Result()\n`,
  },
  {
    what: 'closing a socket forgets a scheduled write (closed)',
    from: '    incomings = null\n    clearImmediate(nextWriteTimer)\n',
    to: `    incomings = null\n    clearImmediate(nextWriteTimer) ${MARK}\n    nextWriteTimer = chunk = null\n`,
  },
  {
    what: 'closing a socket forgets a scheduled write (terminate)',
    from: "      error(Errors.connection('CONNECTION_DESTROYED', options))\n\n    clearImmediate(nextWriteTimer)\n",
    to: `      error(Errors.connection('CONNECTION_DESTROYED', options))\n\n    clearImmediate(nextWriteTimer) ${MARK}\n    nextWriteTimer = chunk = null\n`,
  },
];

export function patchSource(src, file) {
  if (src.includes(MARK)) return src;
  if (src.includes('/* chat-backend patch ')) throw new Error(`${file}: an older version of this patch is applied; reinstall the driver (npm ci)`);
  let out = src;
  for (const e of EDITS) {
    if (out.split(e.from).length !== 2) throw new Error(`${file}: cannot apply "${e.what}": the source differs from postgres 3.4.9 (a new driver version? check whether it still needs scripts/patch-postgres.mjs)`);
    out = out.replace(e.from, e.to);
  }
  return out;
}

export function driverFiles() {
  // (the package's exports hide package.json; its CommonJS entry is cjs/src/index.js)
  const root = path.resolve(path.dirname(createRequire(import.meta.url).resolve('postgres')), '../..');
  return [path.join(root, 'src/connection.js'), path.join(root, 'cjs/src/connection.js')];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of driverFiles()) {
    const src = readFileSync(file, 'utf8');
    const out = patchSource(src, file);
    if (out !== src) writeFileSync(file, out);
  }
  process.stdout.write('postgres.js patched (scripts/patch-postgres.mjs)\n');
}
