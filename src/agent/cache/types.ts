// The response cache as the agent sees it: one model call goes through `call`, which either
// replays a stored answer or runs the real call and stores what it streamed.
import type { ModelEvent } from '../openai/chunks.js';

export type CacheResult = 'hit' | 'miss' | 'bypass';

export interface ModelCallCache {
  // The first event says how the call was answered; the model's events follow.
  call(
    request: { model: string; provider: string; endpoint?: string; body: Record<string, unknown>; queryText: string },
    real: () => AsyncIterable<ModelEvent>,
    signal: AbortSignal,
  ): AsyncIterable<ModelEvent | { type: 'cache'; result: CacheResult }>;
}
