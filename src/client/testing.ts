// A scripted in-memory server for tests of code built on the SDK (and of the SDK): the
// client's sockets are FakeSockets the test opens, feeds frames to and closes at will.
import type { ServerFrame } from '../protocol/wire.js';
import type { SocketFactory, SocketLike } from './socket.js';

export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  // frames the client sent, parsed
  readonly sent: Record<string, unknown>[] = [];
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(readonly url: string) {}

  open(): this {
    this.readyState = 1;
    this.onopen?.({});
    return this;
  }

  frame(f: ServerFrame | Record<string, unknown> & { type: string }): this {
    this.onmessage?.({ data: JSON.stringify(f) });
    return this;
  }

  raw(data: unknown): this {
    this.onmessage?.({ data });
    return this;
  }

  // The server (or the network) ends the connection.
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }

  sentOf(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === type);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }
}

export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly WebSocket: SocketFactory;

  constructor() {
    const sockets = this.sockets;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    };
  }

  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('the client opened no socket');
    return s;
  }
}
