// Exponential backoff with full jitter: the delay before retry n is uniform in
// [0, min(cap, base * 2^n)), so a fleet of clients cut off together does not come back
// together.

export interface ReconnectOptions {
  // reconnect attempts after a connection is lost (or the first one fails) before the
  // client gives up; Infinity retries forever
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = { retries: 5, baseDelayMs: 500, maxDelayMs: 15_000 };

export function backoffCeiling(attempt: number, o: ReconnectOptions): number {
  // 2^attempt overflows to Infinity for large attempts; min() keeps it at the cap
  return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt);
}

export function backoffDelay(attempt: number, o: ReconnectOptions, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, o));
}

export function reconnectOptions(given: Partial<ReconnectOptions> | undefined): ReconnectOptions {
  const o = { ...DEFAULT_RECONNECT, ...given };
  if (!(o.retries >= 0)) throw new RangeError('reconnect.retries must be >= 0 (Infinity for unlimited)');
  if (!(o.baseDelayMs >= 0) || !Number.isFinite(o.baseDelayMs)) throw new RangeError('reconnect.baseDelayMs must be a finite number >= 0');
  if (!(o.maxDelayMs >= o.baseDelayMs)) throw new RangeError('reconnect.maxDelayMs must be >= baseDelayMs');
  return o;
}
