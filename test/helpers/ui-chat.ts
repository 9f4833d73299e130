// The AI SDK client side of the UI message stream tests: the real `ai` package's
// DefaultChatTransport and readUIMessageStream, plus a raw SSE reader for event ids.
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';

export function transport(baseUrl: string, tok: string): DefaultChatTransport<UIMessage> {
  return new DefaultChatTransport({ api: `${baseUrl}/api/v1/chat`, headers: { authorization: `Bearer ${tok}` } });
}

export function userMessage(text: string, id = `u${Math.random().toString(36).slice(2, 14)}`): UIMessage {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}

// Reads a chunk stream to its end, or until `until` says stop (the caller then aborts).
export async function readChunks(stream: ReadableStream<UIMessageChunk>, until?: (chunks: UIMessageChunk[]) => boolean): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (;;) {
    const r = await reader.read().catch((err: unknown) => {
      if ((err as Error).name === 'AbortError') return { done: true as const, value: undefined };
      throw err;
    });
    if (r.done) return chunks;
    chunks.push(r.value);
    if (until?.(chunks)) return chunks;
  }
}

// The message the AI SDK client builds from these chunks.
export async function assemble(chunks: UIMessageChunk[]): Promise<UIMessage | undefined> {
  let message: UIMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(c) {
      for (const ch of chunks) c.enqueue(ch);
      c.close();
    },
  });
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) message = m;
  return message;
}

export function textOf(m: UIMessage | undefined): string {
  return (m?.parts ?? []).filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('');
}

export function deltaText(chunks: UIMessageChunk[]): string {
  return chunks.filter((c) => c.type === 'text-delta').map((c) => (c as { delta: string }).delta).join('');
}

export interface SseEvent {
  id: string | undefined;
  data: string;
}

// A raw SSE reader: what an EventSource sees, ids included.
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { id, data: data.join('\n') };
    }
  }
}
