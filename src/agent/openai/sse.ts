// Incremental Server-Sent Events parser (the WHATWG event-stream format that OpenAI-compatible
// servers use for `stream: true`). Bytes arrive in arbitrary pieces: an event may be split
// anywhere, even inside a UTF-8 sequence, so the parser keeps what it has not finished.
import { StringDecoder } from 'node:string_decoder';

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private data: string[] = [];

  // Feeds a piece of the body; returns the data payloads of the events it completed.
  push(chunk: Buffer | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: string[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next piece.
      if (this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      this.line(line, out);
    }
    return out;
  }

  // End of body: an event not terminated by a blank line is still delivered, as browsers do not,
  // but servers that forget the final blank line are common enough to be forgiving here.
  end(): string[] {
    const out: string[] = [];
    this.buffer += this.decoder.end();
    if (this.buffer !== '') this.line(this.buffer, out);
    this.buffer = '';
    this.line('', out);
    return out;
  }

  private line(line: string, out: string[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // comment, used as keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    // event, id and retry carry nothing chat-completions clients need.
  }
}
