// What turns text into vectors: the built-in hashing embedder or an OpenAI-compatible endpoint.
export interface Embedder {
  // stored with each vector; searches compare only vectors of the same model
  readonly model: string;
  // the vector size, when it is known before the first answer (the built-in embedder)
  readonly dims?: number;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
