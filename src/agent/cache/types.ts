// The response cache as the agent sees it: one model call goes through `call`, which either
// replays a stored answer or runs the real call and stores what it streamed.
import type { ModelEvent } from '../openai/chunks.js';

export type CacheResult = 'hit' | 'miss' | 'bypass';

// How one call is answered, and its events: replayed on a hit, the real call's otherwise.
// A bypass hands the real stream back as it is: a layer around it would cost a promise hop
// per token of every answer.
export interface CacheCall {
  result: CacheResult;
  events: AsyncIterable<ModelEvent> | Iterable<ModelEvent>;
}

export interface ModelCallCache {
  call(
    request: { model: string; provider: string; endpoint?: string; body: Record<string, unknown>; queryText: string },
    real: () => AsyncIterable<ModelEvent>,
    signal: AbortSignal,
  ): Promise<CacheCall>;
}
