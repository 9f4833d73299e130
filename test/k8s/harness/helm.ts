// Runs the helm binary built by tools/k8s/build.sh (or, without Go, one on PATH) with its
// own config/cache/data directories, so tests neither read nor write a developer's helm setup.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cannotBuildReason, ensureBinaries, repoRoot, required } from './binaries.js';

const run = promisify(execFile);

export const chartDir = path.join(repoRoot, 'charts/chat-backend-operator');

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

let binary: Promise<string> | undefined;

export function helmBinary(): Promise<string> {
  binary ??= (async () => {
    if ((await cannotBuildReason()) === undefined) return required(await ensureBinaries(['helm']), 'helm');
    return 'helm';
  })();
  return binary;
}

const home = mkdtempSync(path.join(os.tmpdir(), 'chat-backend-helm-'));

export async function helm(args: string[], kubeconfigPath?: string): Promise<HelmResult> {
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
    ...(kubeconfigPath ? { KUBECONFIG: kubeconfigPath } : {}),
  };
  try {
    const { stdout, stderr } = await run(await helmBinary(), args, { env, maxBuffer: 32 * 1024 * 1024, timeout: 10 * 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err; // helm did not run at all
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}
