// Where a server-sent event stream writes (transport/sse.ts implements it): core follows runs
// into it (run-follower.ts, ui-chat.ts) without knowing the transport.
export interface EventSink {
  // false: the client is gone, or read so slowly that the stream was closed (it resumes
  // with a GET); nothing more should be sent
  send(ev: { id?: string; data: string }): boolean;
  end(): void;
  onClose(cb: () => void): void;
}
