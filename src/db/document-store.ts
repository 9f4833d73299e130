// Binds the document and embedding queries to the core's DocumentStore port.
import type { DocumentStore, VectorMode } from '../core/documents.js';
import type { Db } from './client.js';
import { conversationOwned, deleteDocument, getDocument, insertDocument, listDocuments } from './documents.js';
import { ensureVectorIndex, searchChunks } from './embeddings.js';

export function documentStore(db: Db, mode: VectorMode): DocumentStore {
  return {
    mode,
    conversationOwned: (userId, conv) => conversationOwned(db, userId, conv),
    insert: (d) => insertDocument(db, d),
    list: (userId, limit, before, conv) => listDocuments(db, userId, limit, before, conv),
    get: (userId, id) => getDocument(db, userId, id),
    remove: (userId, id) => deleteDocument(db, userId, id),
    searchChunks: (query, scope) => searchChunks(db, mode, query, scope),
    ensureVectorIndex: (dims) => ensureVectorIndex(db, dims),
  };
}
