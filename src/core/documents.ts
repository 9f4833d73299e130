// The port of the document store (bound by db/document-store.ts) and the types of documents
// as the service and the REST handlers see them. The service itself (chunking, embedding,
// best passage per document) is agent/embeddings/document-service.ts.
import type { ListCursor } from './cursor.js';

// pgvector when the database offers the extension and we may create it, else plain real[]
export type VectorMode = 'pgvector' | 'array';

export interface Document {
  id: string;
  user_id: string;
  conversation_id: string | null;
  title: string;
  content_type: string;
  size_bytes: number;
  chunk_count: number;
  created_at: Date;
  updated_at: Date;
  cursor_ts: string;
}

export interface NewDocument {
  userId: string;
  conversationId: string | null;
  title: string;
  contentType: string;
  content: string;
  chunks: { index: number; content: string; start: number; end: number; embedding: number[] }[];
  model: string;
}

export interface ChunkHit {
  document_id: string;
  title: string;
  chunk_index: number;
  content: string;
  score: number;
}

// the best passage of one document, as search answers it
export interface DocumentHit {
  document_id: string;
  title: string;
  chunk_index: number;
  snippet: string;
  score: number;
}

export interface SearchScope {
  userId: string;
  model: string;
  // documents of this conversation and documents attached to none; undefined: all of the user's
  conversationId?: string;
  limit: number;
}

// Every method is scoped by user: another user's document is "not found".
export interface DocumentStore {
  readonly mode: VectorMode;
  conversationOwned(userId: string, conversationId: string): Promise<boolean>;
  // the document and its chunk vectors, atomically
  insert(d: NewDocument): Promise<Document>;
  list(userId: string, limit: number, before: ListCursor | undefined, conversationId: string | undefined): Promise<Document[]>;
  get(userId: string, id: string): Promise<(Document & { content: string }) | undefined>;
  remove(userId: string, id: string): Promise<boolean>;
  // the nearest chunks, best first
  searchChunks(query: number[], scope: SearchScope): Promise<ChunkHit[]>;
  // pgvector: the HNSW index for vectors of this size
  ensureVectorIndex(dims: number): Promise<void>;
}
