// The WebSocket the client uses: the platform's global one (browsers, Node >= 22), else
// the `ws` package in Node. Only the subset both share is used.

export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = new (url: string) => SocketLike;

export const OPEN = 1;

export async function resolveWebSocket(given?: SocketFactory): Promise<SocketFactory> {
  if (given) return given;
  const native = (globalThis as { WebSocket?: SocketFactory }).WebSocket;
  if (native) return native;
  try {
    // Kept external in the browser bundle; only reached where no global WebSocket exists.
    const mod = await import(/* webpackIgnore: true */ 'ws');
    return mod.default as unknown as SocketFactory;
  } catch (err) {
    throw new Error(`no WebSocket available: this runtime has no global WebSocket and the "ws" package could not be loaded (${(err as Error).message}); install ws or pass options.WebSocket`);
  }
}
