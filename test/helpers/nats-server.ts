// A real nats-server for the bus suites: built once from its Go module into a cache
// (tools/nats/build.sh), started on a free loopback port, restartable on the same port,
// stopped with the suite. Under CI=true a server that cannot be built fails the suite.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/db/embedded.js';
import path from 'node:path';
import { skipOrFail } from './skip.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

// The binary's path, or why there is none (a skip reason; under CI it throws instead).
export function natsServerBinary(): { bin?: string; skip?: string } {
  let reason: string | undefined;
  let bin: string | undefined;
  try {
    bin = execFileSync(path.join(ROOT, 'tools/nats/build.sh'), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 }).toString().trim().split('\n').at(-1);
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    reason = `nats-server could not be built: ${(e.stderr?.toString().trim().split('\n').at(-1) ?? e.message).slice(0, 300)}`;
  }
  skipOrFail(reason, (r) => `${r} (CI=true: the NATS bus suites must run)`);
  return reason === undefined ? { bin } : { skip: reason };
}

const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});


export interface NatsServer {
  port: number;
  url: string;
  log(): string;
  stop(): Promise<void>;
  // stop, then start again on the same port
  restart(): Promise<void>;
}

export async function startNatsServer(bin: string, extraArgs: string[] = []): Promise<NatsServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const c = spawn(bin, ['--addr', '127.0.0.1', '--port', String(port), '--http_port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    alive.add(c);
    c.once('exit', () => alive.delete(c));
    child = c;
    const from = output.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start within 15 s:\n${output}`)), 15_000);
      const seen = (b: Buffer) => {
        output += b.toString();
        if (output.slice(from).includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', seen);
      c.stderr!.on('data', seen);
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}) before it was ready:\n${output}`));
      });
    });
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    log: () => output,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

// One free-port helper for every suite.
export { freePort };
