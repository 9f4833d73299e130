// Documents: validation beyond the schema (size, emptiness, conversation ownership), chunking,
// embedding and storage, and similarity search returning the best passage per document.
import { keysetPage, type Page } from '../../core/cursor.js';
import type { ChunkHit, Document, DocumentHit, DocumentStore, VectorMode } from '../../core/documents.js';
import { AppError } from '../../protocol/errors.js';
import { chunkText, DEFAULT_CHUNKING, type ChunkOptions } from './chunker.js';
import { EmbeddingError } from './openai.js';
import type { Embedder } from './types.js';

export interface DocumentServiceOptions {
  store: DocumentStore;
  embedder: Embedder;
  maxBytes: number;
  chunking?: ChunkOptions;
  log?: { warn(o: object, msg: string): void };
}

export interface NewDocumentInput {
  title: string;
  content: string;
  content_type: 'text/plain' | 'text/markdown';
  conversation_id?: string | undefined;
}

// Candidates fetched per wanted document, so one long document cannot crowd out the rest.
const CANDIDATES_PER_HIT = 4;

export class DocumentService {
  // vector sizes whose HNSW index this process has made sure of (pgvector mode)
  private readonly indexed = new Map<number, Promise<void>>();

  constructor(private readonly o: DocumentServiceOptions) {}

  get mode(): VectorMode {
    return this.o.store.mode;
  }

  async create(userId: string, input: NewDocumentInput): Promise<Document> {
    const bytes = Buffer.byteLength(input.content);
    if (bytes > this.o.maxBytes) {
      throw new AppError('payload_too_large', `body.content is ${bytes} bytes; documents may have at most ${this.o.maxBytes} (DOCUMENT_MAX_BYTES)`);
    }
    if (input.content.trim() === '') {
      throw new AppError('invalid_request', 'invalid body: body.content: must contain text', { issues: [{ path: 'body.content', message: 'must contain text' }] });
    }
    const conv = input.conversation_id ?? null;
    if (conv !== null && !(await this.o.store.conversationOwned(userId, conv))) {
      throw new AppError('conversation_not_found', 'body.conversation_id: no such conversation');
    }
    const chunks = chunkText(input.content, this.o.chunking ?? DEFAULT_CHUNKING);
    let vectors: number[][];
    try {
      vectors = await this.o.embedder.embed(chunks.map((c) => c.content));
    } catch (err) {
      if (err instanceof EmbeddingError) throw new AppError('unavailable', `document not stored: ${err.message}`, { cause: err });
      throw err;
    }
    const doc = await this.o.store.insert({
      userId, conversationId: conv, title: input.title, contentType: input.content_type, content: input.content, model: this.o.embedder.model,
      chunks: chunks.map((c, i) => ({ ...c, embedding: vectors[i]! })),
    });
    if (this.o.store.mode === 'pgvector') for (const dims of new Set(vectors.map((v) => v.length))) await this.indexFor(dims);
    return doc;
  }

  // The first document of a vector size creates its index (the table holds little of that
  // size then, so the build is quick). A failure leaves searches exact but slower: logged,
  // the document stays stored, and the next process tries again.
  private indexFor(dims: number): Promise<void> {
    let done = this.indexed.get(dims);
    if (done === undefined) {
      done = this.o.store.ensureVectorIndex(dims).catch((err: unknown) => {
        this.o.log?.warn({ dims, err_message: (err as Error).message }, 'could not create the HNSW index for this vector size; searches stay exact');
      });
      this.indexed.set(dims, done);
    }
    return done;
  }

  list(userId: string, limit: number, cursor: string | undefined, conversationId?: string): Promise<Page<Document>> {
    return keysetPage(limit, cursor, (n, before) => this.o.store.list(userId, n, before, conversationId));
  }

  async get(userId: string, id: string): Promise<Document & { content: string }> {
    const d = await this.o.store.get(userId, id);
    if (!d) throw new AppError('document_not_found');
    return d;
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.o.store.remove(userId, id))) throw new AppError('document_not_found');
  }

  // The best-matching passage of each of the user's documents, best first.
  async search(userId: string, query: string, limit: number, conversationId?: string): Promise<DocumentHit[]> {
    const [vector] = await this.o.embedder.embed([query]);
    if (!vector || vector.every((x) => x === 0)) return [];
    const rows = await this.o.store.searchChunks(vector, { userId, model: this.o.embedder.model, conversationId, limit: limit * CANDIDATES_PER_HIT });
    const best = new Map<string, ChunkHit>();
    // A passage sharing nothing with the query is not a hit, however few documents there are.
    for (const r of rows) if (Number(r.score) > 0 && !best.has(r.document_id)) best.set(r.document_id, r);
    return [...best.values()].slice(0, limit).map((r) => ({
      document_id: r.document_id, title: r.title, chunk_index: r.chunk_index, snippet: r.content, score: Math.round(Number(r.score) * 1e4) / 1e4,
    }));
  }
}
