// Which vector search path the database supports: pgvector when it offers the extension and
// we may create it, else plain real[] arrays. Chosen once at start-up.
import type { VectorMode } from '../core/documents.js';
import type { Db } from './client.js';
import { chooseVectorMode, enableVector, ensureVectorIndex, vectorExtensionAvailable } from './embeddings.js';

interface SetupLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

// embedder.dims: the vector size when it is known before the first answer (the built-in
// embedder); a remote embedder's size is learnt from its first answer, and DocumentService
// creates that index when the first document is stored.
export async function resolveVectorMode(db: Db, embedder: { readonly model: string; readonly dims?: number }, log: SetupLog): Promise<VectorMode> {
  let available = false;
  let created = false;
  try {
    available = await vectorExtensionAvailable(db);
    if (available) {
      created = await enableVector(db);
      if (embedder.dims !== undefined) await ensureVectorIndex(db, embedder.dims);
    }
  } catch (err) {
    log.warn({ err_message: (err as Error).message }, 'pgvector is available but could not be enabled; searching plain arrays');
  }
  const mode = chooseVectorMode(available, created);
  log.info({ vector_mode: mode, embedding_model: embedder.model }, 'document search ready');
  return mode;
}
