// One chat-completions call as a stream of model events: POST with stream: true, SSE decoded
// incrementally, retries with exponential backoff (or the server's Retry-After) for 429, 5xx
// and refused connections — only before the first token, since a retry after that would show
// the user a second, different beginning.
import { pause } from '../pacing.js';
import { retryDelayMs } from '../retry.js';
import { ChunkDecoder, type ModelEvent } from './chunks.js';
import { LlmError } from './errors.js';
import { CancelledError, openStream, type StreamTimeouts } from './http-stream.js';
import { SseParser } from './sse.js';

export interface ChatCallOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeouts: StreamTimeouts;
  maxRetries: number;
  retryBaseMs: number;
  // what the server asked to wait is honoured up to this
  maxRetryWaitMs?: number;
}

export function completionsUrl(baseUrl: string): URL {
  return new URL(`${baseUrl.replace(/\/+$/, '')}/chat/completions`);
}

export async function* chatCall(request: Record<string, unknown>, o: ChatCallOptions, signal: AbortSignal): AsyncGenerator<ModelEvent> {
  const url = completionsUrl(o.baseUrl);
  const body = JSON.stringify(request);
  for (let attempt = 0; ; attempt++) {
    let started = false;
    try {
      const sse = new SseParser();
      const dec = new ChunkDecoder();
      const stream = await openStream({ url, body, apiKey: o.apiKey, timeouts: o.timeouts, signal });
      try {
        for (let piece = await stream.next(); piece !== undefined; piece = await stream.next()) {
          for (const payload of sse.push(piece)) {
            for (const ev of dec.decode(payload)) {
              started = true;
              yield ev;
            }
            if (dec.finished) return;
          }
        }
      } finally {
        stream.close();
      }
      for (const payload of sse.end()) for (const ev of dec.decode(payload)) yield ev;
      // A body that ends without [DONE] is accepted when it carried data: several local servers omit it.
      if (!dec.finished && !dec.sawData) throw new LlmError('llm_bad_response', 'the model server ended the stream without sending anything');
      for (const ev of dec.flushToolCalls()) yield ev;
      return;
    } catch (err) {
      if (err instanceof CancelledError || signal.aborted) throw new CancelledError();
      const retry = err instanceof LlmError && err.retryable && !started && attempt < o.maxRetries;
      if (!retry) throw err;
      await pause(retryDelayMs(attempt, { maxRetries: o.maxRetries, baseMs: o.retryBaseMs, maxWaitMs: o.maxRetryWaitMs }, err.retryAfterMs), signal);
      if (signal.aborted) throw new CancelledError();
    }
  }
}
