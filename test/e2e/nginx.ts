// An ingress-like TLS proxy for the browser tests: Debian's nginx on loopback with a
// self-signed certificate made for the run, proxying HTTPS and WSS (Upgrade headers,
// long read timeouts) to the server. Runs in its own process group, so stopping it
// takes the workers too, even when a test failed halfway.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tools } from './tools.js';

export interface TlsProxy {
  port: number;
  url: string; // https://127.0.0.1:port
  dir: string;
  // stop drops every connection at once (the fast shutdown an ingress restart is)
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  errorLog(): string;
}

const groups = new Set<number>();
process.once('exit', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
});

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function config(dir: string, port: number, upstreamPort: number, upstreamHost: string, statics: Record<string, string>): string {
  const temp = (k: string) => `${k}_temp_path ${path.join(dir, k)};`;
  return `daemon off;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} info;
events { worker_connections 512; }
http {
  access_log ${path.join(dir, 'access.log')};
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${path.join(dir, 'cert.pem')};
    ssl_certificate_key ${path.join(dir, 'key.pem')};
    ${Object.entries(statics).map(([prefix, root]) => `location ${prefix} { alias ${root}/; types { text/html html; text/javascript js; text/css css; } }`).join('\n    ')}
    location / {
      proxy_pass http://${upstreamHost}:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_buffering off;
    }
  }
}
`;
}

async function waitListening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port} within 10 s: ${log()}`);
}

// statics: URL prefix → directory served as is (a page built for the test, same origin as the API);
// upstreamHost: e.g. a Kubernetes Service's cluster IP, when nginx is a cluster's TLS edge.
export async function startTlsProxy(upstreamPort: number, port?: number, opts: { statics?: Record<string, string>; upstreamHost?: string } = {}): Promise<TlsProxy> {
  if (!tools.nginx || !tools.openssl) throw new Error('nginx and openssl are required');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-nginx-'));
  execFileSync(tools.openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
  const listenPort = port ?? (await freePort());
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, config(dir, listenPort, upstreamPort, opts.upstreamHost ?? '127.0.0.1', opts.statics ?? {}));
  const errorLog = () => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-2000);
    } catch (err) {
      return `(no error log: ${(err as Error).message})`;
    }
  };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const c = spawn(tools.nginx!, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    child = c;
    groups.add(c.pid!);
    exited = new Promise((r) => c.once('exit', () => { groups.delete(c.pid!); r(); }));
    await waitListening(listenPort, c, () => `${stderr}\n${errorLog()}`);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    process.kill(-c.pid!, 'SIGTERM');
    const killer = setTimeout(() => process.kill(-c.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    // the workers share the group: make sure none outlived the master
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  await start();
  return {
    port: listenPort,
    url: `https://127.0.0.1:${listenPort}`,
    dir,
    stop,
    start,
    errorLog,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
