// Vitest glue: one control plane per test file, started in beforeAll (the first run may
// build the binaries, hence the long timeout) and always stopped in afterAll.
import { afterAll, beforeAll } from 'vitest';
import { startControlPlane, type ControlPlane } from './provider.js';
import type { LocalControlPlaneOptions } from './local-control-plane.js';

/** Building the binaries from scratch on a 2-core machine takes minutes, not seconds. */
export const CONTROL_PLANE_START_TIMEOUT_MS = 80 * 60_000;

export function useControlPlane(options: LocalControlPlaneOptions = {}): () => ControlPlane {
  let cp: ControlPlane | undefined;
  beforeAll(async () => {
    cp = await startControlPlane(options);
  }, CONTROL_PLANE_START_TIMEOUT_MS);
  afterAll(async () => {
    await cp?.stop();
  }, 60_000);
  return () => {
    if (!cp) throw new Error('control plane not started (did beforeAll fail?)');
    return cp;
  };
}
