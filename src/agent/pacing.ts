// Streaming helpers for agents: abortable pauses, word-sized chunking, token estimates.

// Resolves after `ms`, or at once when the signal aborts; never rejects, so an aborted run
// simply checks `signal.aborted` afterwards and returns.
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// Word-sized chunks that keep their whitespace, so they concatenate back to `text` exactly.
export function wordChunks(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === '' ? [] : [text]);
}

// Groups words into chunks of `size` words, for streams that should arrive in a few pieces.
export function phraseChunks(text: string, size: number): string[] {
  const words = wordChunks(text);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out;
}

// A rough stand-in for a tokenizer: English averages about 1.3 tokens per word.
export function estimateTokens(text: string): number {
  const words = text.match(/\S+/g)?.length ?? 0;
  return Math.round(words * 1.3);
}
