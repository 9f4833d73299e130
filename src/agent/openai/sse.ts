// Incremental Server-Sent Events parser (the WHATWG event-stream format that OpenAI-compatible
// servers use for `stream: true`). Bytes arrive in arbitrary pieces: an event may be split
// anywhere, even inside a UTF-8 sequence, so the parser keeps what it has not finished.
// A streamed answer is one small event per token, so lines are read in place by index:
// no regular expression, no string per line, no array per event (a regex search over the
// buffer and slices per line and field made this parser the largest allocator per token).
import { StringDecoder } from 'node:string_decoder';

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  // the data of the event being read: undefined until a data line arrives
  private data: string | undefined;

  // Feeds a piece of the body; returns the data payloads of the events it completed.
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const buf = this.buffer === '' ? text : this.buffer + text;
    const out: string[] = [];
    let pos = 0;
    // the next \r at or after pos (-1: none in the rest), searched again only once passed,
    // so a piece of many events is not rescanned to its end for every line
    let cr = buf.indexOf('\r');
    for (;;) {
      if (cr >= 0 && cr < pos) cr = buf.indexOf('\r', pos);
      const lf = buf.indexOf('\n', pos);
      const nl = cr < 0 ? lf : lf < 0 ? cr : Math.min(lf, cr);
      if (nl < 0) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next piece.
      if (nl === buf.length - 1 && buf.charCodeAt(nl) === CR) break;
      this.line(buf, pos, nl, out);
      pos = nl + (buf.charCodeAt(nl) === CR && buf.charCodeAt(nl + 1) === LF ? 2 : 1);
    }
    this.buffer = pos === 0 ? buf : buf.slice(pos);
    return out;
  }

  // End of body: an event not terminated by a blank line is still delivered, as browsers do not,
  // but servers that forget the final blank line are common enough to be forgiving here.
  end(): string[] {
    const out: string[] = [];
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    if (rest !== '') this.line(rest, 0, rest.length, out);
    this.line('', 0, 0, out);
    return out;
  }

  // The line buf[start, end).
  private line(buf: string, start: number, end: number, out: string[]): void {
    if (start === end) {
      if (this.data !== undefined) out.push(this.data);
      this.data = undefined;
      return;
    }
    if (buf.charCodeAt(start) === COLON) return; // comment, used as keep-alive
    // event, id and retry carry nothing chat-completions clients need: only "data" is read.
    if (end - start < 4 || !buf.startsWith('data', start)) return;
    let v = start + 4;
    if (v < end) {
      if (buf.charCodeAt(v) !== COLON) return; // a longer field name ("dataset")
      v++;
      if (v < end && buf.charCodeAt(v) === SPACE) v++;
    }
    const value = buf.slice(v, end);
    this.data = this.data === undefined ? value : `${this.data}\n${value}`;
  }
}
