// A real WebSocket client (the `ws` package) with helpers to wait for frames and closes.
import WebSocket from 'ws';

export type Frame = Record<string, any> & { type: string };

export interface Closed {
  code: number;
  reason: string;
}

export class TestSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  // Answer the server's heartbeat pings as every real client must; off to play dead.
  answerPings = true;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const f = JSON.parse(data.toString()) as Frame;
        this.frames.push(f);
        if (f.type === 'ping' && this.answerPings && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'pong', id: f.id }));
      }
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', () => { for (const w of this.waiters.splice(0)) w(); });
  }

  // Resolves once open; rejects with the HTTP status and body when the upgrade is refused.
  static open(url: string, headers: Record<string, string> = {}, opts: { autoPong?: boolean } = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, autoPong: opts.autoPong ?? true });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.on('error', (err) => reject(err));
      ws.on('open', () => resolve(new TestSocket(ws)));
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  // The first frame (from index `from`) matching pred; waits for it.
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 8000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  // The close, or a failure naming the frames seen when the server has not closed the
  // socket within `timeoutMs`: a broken close rule fails here, not at the test's timeout.
  closedWithin(timeoutMs = 10_000): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`)), timeoutMs);
    });
    return Promise.race([this.closed, late]).finally(() => clearTimeout(timer));
  }

  type(t: string, from = 0, timeoutMs?: number): Promise<Frame> {
    return this.waitFor((f) => f.type === t, timeoutMs, from);
  }

  ofType(t: string): Frame[] {
    return this.frames.filter((f) => f.type === t);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export function wsUrl(httpUrl: string, conv: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws/conversations/${conv}`;
}

export async function connectReady(httpUrl: string, conv: string, token: string, extra: Record<string, unknown> = {}, answerPings = true): Promise<{ sock: TestSocket; ready: Frame }> {
  const sock = await TestSocket.open(wsUrl(httpUrl, conv));
  sock.answerPings = answerPings;
  sock.send({ type: 'auth', token, ...extra });
  const ready = await sock.type('ready');
  return { sock, ready };
}

export async function createConversation(httpUrl: string, token: string, title = 'ws test'): Promise<string> {
  const res = await fetch(`${httpUrl}/api/v1/conversations`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title }),
  });
  if (res.status !== 201) throw new Error(`create conversation: ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

// Rebuilds an answer the way a client must: snapshots replace the text up to their
// offset, deltas apply at theirs, overlaps are ignored.
export function assembleAnswer(frames: Frame[], runId: string): string {
  let text = '';
  for (const f of frames) {
    if (f.run_id !== runId) continue;
    if (f.type === 'run.snapshot' && f.offset >= text.length) text = f.content;
    if (f.type === 'response.delta' && f.offset <= text.length) text = text.slice(0, f.offset) + f.delta;
  }
  return text;
}
