// Small helpers over @kubernetes/client-node for the suites: namespaces that clean up after
// themselves, polling with a useful message, and the API server's error text.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<{ name: string; remove(): Promise<void> }> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'chat-backend.dev/test': 'true' } } } });
  // Pods need the namespace's default ServiceAccount, which the controller-manager adds.
  await waitFor(`ServiceAccount ${name}/default`, 60_000, async () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(
      () => true,
      () => false,
    ),
  );
  return {
    name,
    remove: async () => {
      await core.deleteNamespace({ name }).catch((err: unknown) => {
        if (statusCode(err) !== 404) throw err;
      });
    },
  };
}

/** Polls `check` until it returns a truthy value; fails naming what was awaited and the last state. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | false | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await check();
      if (result) return result;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${errorText(lastError)}` : ''}`);
}

export function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
}

/** The API server's Status message of a failed request (client-node puts it in `body`). */
export function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = (err as { body: unknown }).body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        return parsed.message ?? body;
      } catch {
        return body; // not JSON: the raw text is the message
      }
    }
    if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}
