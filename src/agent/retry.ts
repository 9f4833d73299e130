// Retries of calls to model servers (chat completions, embeddings): exponential backoff with
// jitter, or what the server asked for (Retry-After), capped so one request never sleeps for
// minutes on a server's say-so.
import { pause } from './pacing.js';

export interface RetryPolicy {
  maxRetries: number;
  baseMs: number;
  // what the server asked to wait is honoured up to this
  maxWaitMs?: number;
}

// ±25 % jitter keeps replicas that failed together from retrying together.
export function retryDelayMs(attempt: number, p: RetryPolicy, retryAfterMs: number | undefined): number {
  const backoff = p.baseMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
  return Math.min(retryAfterMs ?? backoff, p.maxWaitMs ?? 30_000);
}

// Runs `call` until it succeeds, `retryable` says an error is final (undefined), the retries
// are spent, or the signal aborts (the last error is thrown then).
export async function withRetries<T>(
  call: (attempt: number) => Promise<T>,
  p: RetryPolicy,
  retryable: (err: unknown) => { retryAfterMs: number | undefined } | undefined,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      const verdict = retryable(err);
      if (verdict === undefined || attempt >= p.maxRetries || signal?.aborted) throw err;
      await pause(retryDelayMs(attempt, p, verdict.retryAfterMs), signal ?? new AbortController().signal);
      if (signal?.aborted) throw err;
    }
  }
}
