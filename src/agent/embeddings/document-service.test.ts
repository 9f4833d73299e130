// The document service against an in-memory DocumentStore: what it refuses before storing
// anything, what it stores, and how it ranks, with no database.
import { describe, expect, it } from 'vitest';
import type { ChunkHit, Document, DocumentStore, NewDocument, VectorMode } from '../../core/documents.js';
import { DocumentService } from './document-service.js';
import { HashingEmbedder } from './hashing.js';

class MemoryDocuments implements DocumentStore {
  readonly inserted: NewDocument[] = [];
  readonly indexed: number[] = [];
  hits: ChunkHit[] = [];
  constructor(readonly mode: VectorMode, private readonly conversations = new Map<string, string>()) {}
  async conversationOwned(userId: string, conv: string) { return this.conversations.get(conv) === userId; }
  async insert(d: NewDocument): Promise<Document> {
    this.inserted.push(d);
    const at = new Date(0);
    return { id: `d${this.inserted.length}`, user_id: d.userId, conversation_id: d.conversationId, title: d.title, content_type: d.contentType, size_bytes: d.content.length, chunk_count: d.chunks.length, created_at: at, updated_at: at, cursor_ts: at.toISOString() };
  }
  async list() { return []; }
  async get() { return undefined; }
  async remove() { return false; }
  async searchChunks() { return this.hits; }
  async ensureVectorIndex(dims: number) { this.indexed.push(dims); }
}

const service = (store: DocumentStore, maxBytes = 1000) => new DocumentService({ store, embedder: new HashingEmbedder(), maxBytes });

describe('DocumentService', () => {
  it('refuses an oversized, a blank or a foreign-conversation document, storing nothing', async () => {
    const store = new MemoryDocuments('array', new Map([['c-bob', 'bob']]));
    const svc = service(store, 10);
    await expect(svc.create('alice', { title: 't', content: 'x'.repeat(11), content_type: 'text/plain' })).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(service(store).create('alice', { title: 't', content: ' \n ', content_type: 'text/plain' })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(service(store).create('alice', { title: 't', content: 'hello', content_type: 'text/plain', conversation_id: 'c-bob' })).rejects.toMatchObject({ code: 'conversation_not_found' });
    expect(store.inserted).toEqual([]);
  });

  it('stores the chunks with their vectors, and in pgvector mode makes sure of the index once per size', async () => {
    const store = new MemoryDocuments('pgvector', new Map([['c1', 'alice']]));
    const svc = service(store);
    const doc = await svc.create('alice', { title: 't', content: 'One sentence. Another one.', content_type: 'text/plain', conversation_id: 'c1' });
    await svc.create('alice', { title: 'u', content: 'More text.', content_type: 'text/plain' });
    expect(doc).toMatchObject({ user_id: 'alice', conversation_id: 'c1', chunk_count: store.inserted[0]!.chunks.length });
    expect(store.inserted[0]!.chunks[0]!.embedding).toHaveLength(new HashingEmbedder().dims);
    expect(store.indexed).toEqual([new HashingEmbedder().dims]);
  });

  it('keeps the best passage per document and drops passages sharing nothing with the query', async () => {
    const store = new MemoryDocuments('array');
    store.hits = [
      { document_id: 'a', title: 'A', chunk_index: 2, content: 'best of a', score: 0.912345 },
      { document_id: 'b', title: 'B', chunk_index: 0, content: 'best of b', score: 0.5 },
      { document_id: 'a', title: 'A', chunk_index: 0, content: 'second of a', score: 0.4 },
      { document_id: 'c', title: 'C', chunk_index: 1, content: 'unrelated', score: 0 },
    ];
    expect(await service(store).search('alice', 'query words', 5)).toEqual([
      { document_id: 'a', title: 'A', chunk_index: 2, snippet: 'best of a', score: 0.9123 },
      { document_id: 'b', title: 'B', chunk_index: 0, snippet: 'best of b', score: 0.5 },
    ]);
  });
});
