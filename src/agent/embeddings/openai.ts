// Embeddings from an OpenAI-compatible POST {base}/embeddings (OpenAI, vLLM, Ollama, llama.cpp
// server, LM Studio). Inputs go in batches; vectors come back ordered by their `index`.
import type { Embedder } from './types.js';

export interface OpenAiEmbedderOptions {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  timeoutMs?: number;
  batchSize?: number;
}

export class EmbeddingError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'EmbeddingError';
  }
}

export class OpenAiEmbedder implements Embedder {
  readonly model: string;

  constructor(private readonly o: OpenAiEmbedderOptions) {
    this.model = o.model;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    const size = this.o.batchSize ?? 64;
    for (let i = 0; i < texts.length; i += size) out.push(...await this.batch(texts.slice(i, i + size), signal));
    return out;
  }

  private async batch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(`${this.o.baseUrl.replace(/\/+$/, '')}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.o.model, input }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new EmbeddingError(timeout.aborted ? 'the embeddings server did not answer in time' : 'cannot reach the embeddings server', { cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new EmbeddingError(res.status === 401 || res.status === 403 ? `the embeddings server refused the API key (HTTP ${res.status})` : `the embeddings server answered HTTP ${res.status}`);
    }
    const body = await res.json().catch(() => undefined) as { data?: { index?: number; embedding?: unknown }[] } | undefined;
    const data = body?.data;
    if (!Array.isArray(data) || data.length !== input.length) throw new EmbeddingError('the embeddings server sent a response without one vector per input');
    const sorted = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return sorted.map((d) => {
      if (!Array.isArray(d.embedding) || d.embedding.length === 0 || !d.embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new EmbeddingError('the embeddings server sent a vector that is not a list of numbers');
      }
      return d.embedding as number[];
    });
  }
}
