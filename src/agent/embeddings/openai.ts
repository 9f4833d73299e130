// Embeddings from an OpenAI-compatible POST {base}/embeddings (OpenAI, vLLM, Ollama, llama.cpp
// server, LM Studio). Inputs go in batches; vectors come back ordered by their `index`. A batch
// that fails the way busy servers fail (429, 5xx, timeout, refused connection) is retried.
import { parseRetryAfter } from '../openai/errors.js';
import { withRetries } from '../retry.js';
import type { Embedder } from './types.js';

export interface OpenAiEmbedderOptions {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  batchSize?: number;
}

export class EmbeddingError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, opts: { cause?: unknown; retryable?: boolean; retryAfterMs?: number } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'EmbeddingError';
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

const retryable = (err: unknown) => (err instanceof EmbeddingError && err.retryable ? { retryAfterMs: err.retryAfterMs } : undefined);

export class OpenAiEmbedder implements Embedder {
  readonly model: string;

  constructor(private readonly o: OpenAiEmbedderOptions) {
    this.model = o.model;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    const size = this.o.batchSize ?? 64;
    const policy = { maxRetries: this.o.maxRetries, baseMs: this.o.retryBaseMs };
    for (let i = 0; i < texts.length; i += size) {
      const input = texts.slice(i, i + size);
      out.push(...await withRetries(() => this.batch(input, signal), policy, retryable, signal));
    }
    return out;
  }

  private async batch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.o.baseUrl.replace(/\/+$/, '')}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.o.model, input }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new EmbeddingError(timeout.aborted ? `the embeddings server did not answer within ${this.o.timeoutMs} ms` : 'cannot reach the embeddings server', { cause: err, retryable: true });
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) throw new EmbeddingError(`the embeddings server refused the API key (HTTP ${res.status})`);
      const busy = res.status === 429 || res.status >= 500;
      throw new EmbeddingError(`the embeddings server answered HTTP ${res.status}`, { retryable: busy, retryAfterMs: busy ? parseRetryAfter(res.headers.get('retry-after') ?? undefined) : undefined });
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
