// What turns text into vectors: the built-in hashing embedder or an OpenAI-compatible endpoint.
export interface Embedder {
  // stored with each vector; searches compare only vectors of the same model
  readonly model: string;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
