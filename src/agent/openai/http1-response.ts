// Reads one HTTP/1.1 response from the bytes of its connection: the status line and headers,
// then the body framed by chunked transfer-coding, Content-Length, or the connection's end
// (RFC 9112 §6.3). The model's stream is the only thing this client reads, one small body
// piece per token: read straight from the socket, a piece costs a callback, where node:http
// passes it through two Readables and an IncomingMessage first.
//
// The bytes come in a read buffer the socket reuses, so body pieces are views valid only
// during the call that hands them over.

export interface ResponseHead {
  status: number;
  // names in lower case; a repeated header's values joined with ", "
  headers: Map<string, string>;
}

export interface ResponseHandler {
  head(head: ResponseHead): void;
  body(piece: Buffer): void;
  end(): void;
}

// A response this reader cannot make sense of.
export class MalformedResponse extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedResponse';
  }
}

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const LF = 10;
const CR = 13;
const SEMI = 59;
const SP = 32;
const TAB = 9;

const enum State { Head, ChunkSize, ChunkData, ChunkEnd, Trailers, Length, UntilClose, Done }

export class ResponseReader {
  private state = State.Head;
  // an unfinished head or line, kept as latin1 text (one char per byte)
  private pending = '';
  // bytes left of the current chunk or of a Content-Length body (while reading a chunk
  // size: the size so far)
  private left = 0;
  private digits = 0;
  private inExtension = false;
  private sawCr = false;

  constructor(private readonly h: ResponseHandler) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  // Reads buf[0, n). Throws MalformedResponse; the handler's own throws pass through.
  push(buf: Buffer, n: number): void {
    let i = 0;
    while (i < n && this.state !== State.Done) {
      switch (this.state) {
        case State.Head: i = this.readHead(buf, i, n); break;
        case State.ChunkSize: i = this.readChunkSize(buf, i, n); break;
        case State.ChunkData:
        case State.Length: {
          const take = Math.min(this.left, n - i);
          this.left -= take;
          const piece = buf.subarray(i, i + take);
          i += take;
          if (this.left === 0) this.state = this.state === State.Length ? State.Done : State.ChunkEnd;
          this.h.body(piece);
          if (this.state === State.Done) this.h.end();
          break;
        }
        case State.ChunkEnd: {
          // the CRLF after a chunk's data (a lone LF accepted)
          const c = buf[i++];
          if (c === LF) this.state = State.ChunkSize;
          else if (c !== CR || this.sawCr) throw new MalformedResponse('a chunk of the body is longer than its size');
          this.sawCr = c === CR;
          break;
        }
        case State.Trailers: {
          const line = this.readLine(buf, i, n);
          if (line === undefined) return;
          i = line.next;
          if (line.text === '') this.finish();
          break;
        }
        case State.UntilClose:
          this.h.body(buf.subarray(i, n));
          i = n;
          break;
      }
    }
  }

  // The connection ended: true when that completed the response (a body framed by the
  // connection's end), or it was already complete.
  close(): boolean {
    if (this.state === State.UntilClose) this.finish();
    return this.state === State.Done;
  }

  private finish(): void {
    this.state = State.Done;
    this.h.end();
  }

  private readHead(buf: Buffer, i: number, n: number): number {
    const before = this.pending.length;
    const text = this.pending + buf.toString('latin1', i, n);
    const at = text.indexOf('\r\n\r\n');
    if (at < 0) {
      if (text.length > MAX_HEAD) throw new MalformedResponse(`the response head is longer than ${MAX_HEAD} bytes`);
      this.pending = text;
      return n;
    }
    this.pending = '';
    this.parseHead(text.slice(0, at));
    return i + at + 4 - before;
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
    if (!m) throw new MalformedResponse(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const status = Number(m[1]);
    // an interim response (100 Continue, 103 Early Hints): the real one follows
    if (status >= 100 && status < 200) return;
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MalformedResponse(`a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prior = headers.get(name);
      headers.set(name, prior === undefined ? value : `${prior}, ${value}`);
    }
    const te = headers.get('transfer-encoding');
    const length = headers.get('content-length');
    if (status === 204 || status === 304) this.state = State.Done;
    else if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) this.state = State.ChunkSize;
    else if (te === undefined && length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw new MalformedResponse(`a malformed Content-Length: ${JSON.stringify(length.slice(0, 40))}`);
      this.left = Number(length);
      this.state = this.left === 0 ? State.Done : State.Length;
    } else this.state = State.UntilClose;
    this.h.head({ status, headers });
    if (this.state === State.Done) this.h.end();
  }

  // The chunk-size line, read byte by byte: it comes once per token, so no string is made
  // of it. Extensions (after ';') carry nothing for us and are skipped.
  private readChunkSize(buf: Buffer, i: number, n: number): number {
    while (i < n) {
      const c = buf[i++]!;
      if (c === LF) {
        if (this.digits === 0) throw new MalformedResponse('a chunk size line without a size');
        this.state = this.left === 0 ? State.Trailers : State.ChunkData;
        this.digits = 0;
        this.inExtension = false;
        return i;
      }
      if (this.inExtension || c === CR) continue;
      if (c === SEMI || c === SP || c === TAB) {
        this.inExtension = true;
        continue;
      }
      const d = hexValue(c);
      if (d < 0 || ++this.digits > 12) throw new MalformedResponse(`a malformed chunk size (byte 0x${c.toString(16)})`);
      this.left = this.left * 16 + d;
    }
    return i;
  }

  // The line that starts at i (CRLF or a lone LF ends it), its text without the ending and
  // where the next byte is; undefined when it ends in a later read (kept until then).
  private readLine(buf: Buffer, i: number, n: number): { text: string; next: number } | undefined {
    const lf = buf.indexOf(LF, i);
    if (lf < 0 || lf >= n) {
      this.pending += buf.toString('latin1', i, n);
      if (this.pending.length > MAX_LINE) throw new MalformedResponse(`a line of the body's framing is longer than ${MAX_LINE} bytes`);
      return undefined;
    }
    let text = this.pending + buf.toString('latin1', i, lf);
    this.pending = '';
    if (text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
    return { text, next: lf + 1 };
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
