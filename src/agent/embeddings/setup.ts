// Which embedder turns text into vectors (EMBEDDINGS_PROVIDER). Which vector search path the
// database supports is db/vector-setup.ts.
import type { Config } from '../../config.js';
import { HashingEmbedder } from './hashing.js';
import { OpenAiEmbedder } from './openai.js';
import type { Embedder } from './types.js';

export function createEmbedder(c: Config['embeddings']): Embedder {
  return c.provider === 'openai' ? new OpenAiEmbedder(c) : new HashingEmbedder();
}
