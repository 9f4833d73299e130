// The container image, built from the Dockerfile by podman (tools/image/build-image.sh), runs
// every role the way a hardened pod runs it: read-only root filesystem, every capability
// dropped, no new privileges, as the image's own numeric non-root user. The database is the
// run's PostgreSQL on loopback (host network); the operator talks to a local control plane.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_ENV } from '../helpers/tokens.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort } from './harness/ports.js';
import { startControlPlane, type ControlPlane } from './harness/provider.js';
import { buildImages, imageSkipReason, podman, type BuiltImages } from './real-node/images.js';

const skipReason = await imageSkipReason();
const HARDENED = ['--rm', '--read-only', '--cap-drop=ALL', '--security-opt=no-new-privileges', '--network=host'];

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skipReason !== undefined)('container image (podman, read-only, no capabilities, numeric user)', () => {
  let images: BuiltImages;
  let db: TestDatabase;
  const names: string[] = [];

  beforeAll(async () => {
    images = await buildImages('v1');
    db = await createTestDatabase('image');
  }, 45 * 60_000);

  afterAll(async () => {
    for (const n of names) await podman(['rm', '-f', '-t', '2', n]);
    await db?.drop();
  }, 60_000);

  const detached = async (name: string, env: Record<string, string>, args: string[], extra: string[] = []) => {
    names.push(name);
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const r = await podman(['run', '-d', '--name', name, ...HARDENED.filter((a) => a !== '--rm'), ...extra, ...envArgs, images.image, ...args]);
    expect(r.code, r.stderr).toBe(0);
  };

  it('runs as the numeric non-root user 1000:1000 declared by the image', async () => {
    const inspect = await podman(['image', 'inspect', '--format', '{{.Config.User}}', images.image]);
    expect(inspect.stdout.trim()).toBe('1000:1000');
    const r = await podman(['run', ...HARDENED, '--entrypoint', 'node', images.image, '-e', 'console.log(process.getuid(), process.getgid())']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1000 1000');
  });

  it('--help prints every command', async () => {
    const r = await podman(['run', ...HARDENED, images.image, '--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const cmd of ['serve', 'migrate', 'operator']) expect(r.stdout + r.stderr).toContain(cmd);
  });

  it('migrate applies the schema, and a bad DATABASE_URL is a clear error', async () => {
    const r = await podman(['run', ...HARDENED, '-e', `DATABASE_URL=${db.url}`, images.image, 'migrate'], 180_000);
    expect(r.code, r.stderr).toBe(0);
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'messages'`;
    await sql.end();
    expect(row!.n).toBe(1);

    const bad = await podman(['run', ...HARDENED, '-e', 'DATABASE_URL=not-a-url', images.image, 'migrate']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('DATABASE_URL');
  }, 240_000);

  it('serve answers /health/full 200 against PostgreSQL', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    await detached(`chat-backend-serve-${randomBytes(4).toString('hex')}`, {
      ...AUTH_ENV,
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    }, ['serve']);
    const status = await waitFor('/health/full 200', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health/full`);
      return res.status === 200 ? res.status : undefined;
    }, 60_000);
    expect(status).toBe(200);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
  }, 120_000);

  describe('operator', () => {
    let cp: ControlPlane;
    let dir: string;
    beforeAll(async () => {
      cp = await startControlPlane({ nodes: 1 });
      dir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-image-op-'));
    }, 80 * 60_000);
    afterAll(async () => {
      await cp?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('operator elects itself leader and reports ready against the control plane', async () => {
      const kubeconfig = path.join(dir, 'kubeconfig');
      // The container's user (uid 1000) must be able to read it.
      await writeFile(kubeconfig, await readFile(cp.kubeconfigPath, 'utf8'), { mode: 0o644 });
      const health = await freePort();
      const metrics = await freePort();
      await detached(`chat-backend-operator-${randomBytes(4).toString('hex')}`, {
        KUBECONFIG: '/etc/chat-backend/kubeconfig',
        POD_NAME: 'image-test-operator',
        POD_NAMESPACE: 'default',
        OPERATOR_HEALTH_PORT: String(health),
        OPERATOR_METRICS_PORT: String(metrics),
      }, ['operator'], ['-v', `${kubeconfig}:/etc/chat-backend/kubeconfig:ro`]);
      await waitFor('operator /readyz 200', async () => ((await fetch(`http://127.0.0.1:${health}/readyz`)).status === 200 ? true : undefined), 90_000);
      const body = await waitFor('leader metric', async () => {
        const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
        return /^chatbackend_operator_leader 1$/m.test(text) ? text : undefined;
      }, 90_000);
      expect(body).toMatch(/^chatbackend_operator_leader 1$/m);
    }, 200_000);
  });
});
