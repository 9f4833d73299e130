// Start-up choices for documents: which embedder (EMBEDDINGS_PROVIDER) and which vector search
// path the database supports (pgvector when it offers the extension and we may create it).
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import { chooseVectorMode, enableVector, ensureVectorIndex, vectorExtensionAvailable, type VectorMode } from '../../db/embeddings.js';
import { HashingEmbedder } from './hashing.js';
import { OpenAiEmbedder } from './openai.js';
import type { Embedder } from './types.js';

export function createEmbedder(c: Config['embeddings']): Embedder {
  return c.provider === 'openai' ? new OpenAiEmbedder(c) : new HashingEmbedder();
}

interface SetupLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export async function resolveVectorMode(db: Db, embedder: Embedder, log: SetupLog): Promise<VectorMode> {
  let available = false;
  let created = false;
  try {
    available = await vectorExtensionAvailable(db);
    if (available) {
      created = await enableVector(db);
      // A remote embedder's vector size is learnt from its first answer: DocumentService
      // creates that index when the first document is stored.
      if (embedder instanceof HashingEmbedder) await ensureVectorIndex(db, embedder.dims);
    }
  } catch (err) {
    log.warn({ err_message: (err as Error).message }, 'pgvector is available but could not be enabled; searching plain arrays');
  }
  const mode = chooseVectorMode(available, created);
  log.info({ vector_mode: mode, embedding_model: embedder.model }, 'document search ready');
  return mode;
}
