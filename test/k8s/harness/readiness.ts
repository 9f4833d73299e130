// Waiting for a control-plane process to serve: poll an HTTP(S) endpoint until it answers
// 200, and give up at once, with the process's last lines, if the process exits instead.
import http from 'node:http';
import https from 'node:https';
import type { ManagedProcess } from './processes.js';

export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** For the components' self-signed health ports; only ever on 127.0.0.1. */
  insecure?: boolean;
}

function get(url: string, tls: TlsOptions | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const options = { timeout: 5_000, ...(u.protocol === 'https:' ? { ca: tls?.ca, cert: tls?.cert, key: tls?.key, rejectUnauthorized: !tls?.insecure } : {}) };
    const req = (u.protocol === 'https:' ? https : http).get(u, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export async function waitForHttpsOk(url: string, proc: ManagedProcess, opts: { timeoutMs: number; tls?: TlsOptions }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let exited: string | undefined;
  void proc.exited.then((code) => (exited = code));
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${proc.name} exited (${exited}) before ${url} was ready:\n${proc.tail()}`);
    try {
      const res = await get(url, opts.tls);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.body.slice(0, 2000)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.name} not ready at ${url} after ${opts.timeoutMs} ms; last: ${last}\n${proc.tail()}`);
}
