// Why a suite cannot run on this machine becomes a skip with the reason — except under CI=true,
// where it is a failure, so a green CI never hides a suite that did not run.
export function skipOrFail<R extends string | undefined>(reason: R, underCi: (reason: string) => string, env: NodeJS.ProcessEnv = process.env): R {
  if (reason !== undefined && (env.CI === 'true' || env.CI === '1')) throw new Error(underCi(reason));
  return reason;
}
