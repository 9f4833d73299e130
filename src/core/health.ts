// Readiness: the database answers within a deadline, the schema is at the version this
// build expects, and the server is not draining. Each check is named in the body so an
// operator can see which one failed without reading logs.

export interface CheckResult {
  status: 'ok' | 'fail';
  [detail: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'fail';
  checks: Record<string, CheckResult>;
}

export interface HealthDeps {
  // resolves with the applied schema version (null: no migrations table)
  schemaVersion(): Promise<number | null>;
  expectedVersion: number;
  timeoutMs: number;
  isDraining(): boolean;
}

export async function readiness(deps: HealthDeps): Promise<HealthReport> {
  const checks: Record<string, CheckResult> = {};
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      deps.schemaVersion(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deps.timeoutMs} ms`)), deps.timeoutMs);
      }),
    ]);
    checks.database = { status: 'ok', latency_ms: round(performance.now() - start) };
    checks.schema = version !== null && version >= deps.expectedVersion
      ? { status: 'ok', applied: version, expected: deps.expectedVersion }
      : { status: 'fail', applied: version, expected: deps.expectedVersion, message: 'schema is behind: run chat-backend migrate' };
  } catch (err) {
    checks.database = { status: 'fail', latency_ms: round(performance.now() - start), message: describe(err) };
    checks.schema = { status: 'fail', expected: deps.expectedVersion, message: 'unknown: database unavailable' };
  } finally {
    clearTimeout(timer);
  }
  checks.draining = deps.isDraining() ? { status: 'fail', message: 'server is shutting down' } : { status: 'ok' };
  const ok = Object.values(checks).every((c) => c.status === 'ok');
  return { status: ok ? 'ok' : 'fail', checks };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// Connection errors may embed host names and users; report only their class.
function describe(err: unknown): string {
  if (err instanceof Error && err.message.startsWith('no answer within')) return err.message;
  const code = (err as { code?: string }).code;
  return code ? `database error ${code}` : 'database error';
}
