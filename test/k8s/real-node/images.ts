// The project's image and the cluster's other images, built by tools/image/build-image.sh with
// podman from the Dockerfile (no registry, no Docker), and a podman runner configured by
// tools/image/podman-env.sh (temporary config files, never /etc/containers).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../harness/binaries.js';
import { skipOrFail } from '../../helpers/skip.js';

const run = promisify(execFile);
const toolDir = path.join(repoRoot, 'tools/image');

export interface BuiltImages {
  /** localhost/chat-backend:TAG */
  image: string;
  /** docker archives for `ctr images import` */
  app: string;
  pgImage: string;
  pg: string;
  pauseImage: string;
  pause: string;
}

async function has(cmd: string): Promise<boolean> {
  try {
    await run('bash', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Why images cannot be built here, or undefined; under CI a reason is a failure. */
export async function imageSkipReason(extra: string[] = []): Promise<string | undefined> {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'building and running images needs root (podman, debootstrap, mounts)';
  else {
    const missing: string[] = [];
    for (const c of ['podman', 'debootstrap', 'runc', 'catatonit', ...extra]) if (!(await has(c))) missing.push(c);
    if (missing.length) reason = `missing tools: ${missing.join(', ')} (Debian packages; .ci/run installs them)`;
  }
  return skipOrFail(reason, (r) => `${r} (CI=true: the real-node suites must run)`);
}

export async function buildImages(tag: string): Promise<BuiltImages> {
  const started = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [path.join(toolDir, 'build-image.sh'), tag], { maxBuffer: 64 * 1024 * 1024, timeout: 40 * 60_000 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the image failed:\n${(e.stderr ?? e.message).slice(-4000)}`);
  }
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  console.log(`[image] ${out.image} and the cluster images ready after ${Math.round((Date.now() - started) / 1000)}s`);
  return { image: out.image!, app: out.app!, pgImage: out['pg-image']!, pg: out.pg!, pauseImage: out['pause-image']!, pause: out.pause! };
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** podman with the suite's configuration; never throws on a non-zero exit. */
export async function podman(args: string[], timeoutMs = 120_000): Promise<PodmanResult> {
  try {
    const { stdout, stderr } = await run('bash', ['-c', `source "${toolDir}/podman-env.sh"; podman "$@"`, 'podman', ...args], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}
