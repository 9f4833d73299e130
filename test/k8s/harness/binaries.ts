// The control-plane binaries, built by tools/k8s/build.sh into a cache outside the repository
// (first run: a long Go build; later runs: instant). build.sh serializes concurrent callers.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const buildScript = path.join(repoRoot, 'tools/k8s/build.sh');

export type Component = 'kubernetes' | 'etcd' | 'kwok' | 'helm' | 'kube-node' | 'coredns';

export interface Binaries {
  'kube-apiserver'?: string;
  'kube-controller-manager'?: string;
  'kube-scheduler'?: string;
  etcd?: string;
  kwok?: string;
  'kwok-stages'?: string;
  helm?: string;
  kubelet?: string;
  'kube-proxy'?: string;
  kubectl?: string;
  coredns?: string;
}

/** Why the local control plane cannot be built here, or undefined when it can. */
export async function cannotBuildReason(): Promise<string | undefined> {
  try {
    const { stdout } = await run('go', ['version'], { env: { ...process.env, GOTOOLCHAIN: 'local' } });
    const m = /go(\d+)\.(\d+)/.exec(stdout);
    if (!m || Number(m[1]) !== 1 || Number(m[2]) < 26) return `Go 1.26 or newer is needed to build the control plane, found: ${stdout.trim()}`;
  } catch (err) {
    return `no Go toolchain on PATH to build the control plane (${(err as Error).message.split('\n')[0]})`;
  }
  try {
    await run('openssl', ['version']);
  } catch {
    return 'openssl is needed to sign the control plane certificates';
  }
  return undefined;
}

export async function ensureBinaries(components: Component[]): Promise<Binaries> {
  const started = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [buildScript, ...components], { maxBuffer: 16 * 1024 * 1024, timeout: 80 * 60_000 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building ${components.join(', ')} failed:\n${(e.stderr ?? e.message).slice(-4000)}`);
  }
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  // Longer than a cache hit: this worker built them, or waited for another worker's build.
  if (seconds > 5) console.log(`[k8s] ${components.join(', ')} ready after ${seconds}s`);
  return out as Binaries;
}

export function required(binaries: Binaries, name: keyof Binaries): string {
  const file = binaries[name];
  if (!file) throw new Error(`tools/k8s/build.sh did not report ${name}`);
  return file;
}
