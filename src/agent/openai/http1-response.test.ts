import { describe, expect, it } from 'vitest';
import { ResponseReader } from './http1-response.js';

// Reads `raw`, handed over in pieces of `size` bytes (each in a fresh buffer with stale
// bytes after the piece, as a reused read buffer has), and what the handler heard.
function read(raw: string, size = raw.length, closeAtEnd = false) {
  const got = { status: 0, headers: {} as Record<string, string>, body: '', ends: 0, complete: false };
  const r = new ResponseReader({
    head: (h) => { got.status = h.status; got.headers = Object.fromEntries(h.headers); },
    body: (b) => { got.body += b.toString(); },
    end: () => { got.ends++; },
  });
  const bytes = Buffer.from(raw, 'latin1');
  for (let i = 0; i < bytes.length; i += size) {
    const piece = bytes.subarray(i, i + size);
    const buf = Buffer.alloc(piece.length + 16, '\n9\r\n');
    piece.copy(buf);
    r.push(buf, piece.length);
  }
  got.complete = closeAtEnd ? r.close() : r.done;
  return got;
}

const chunked = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
  + '6\r\ndata: \r\n19;ext=1\r\n{"choices":[]}\n\n  padding\r\n0\r\nX-Trailer: 1\r\n\r\n';

describe('ResponseReader', () => {
  it('reads a chunked body, whatever the pieces it arrives in', () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      expect(read(chunked, size)).toEqual({
        status: 200, headers: { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' },
        body: 'data: {"choices":[]}\n\n  padding', ends: 1, complete: true,
      });
    }
  });

  it('reads a Content-Length body, and a body that lasts until the connection ends', () => {
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', 2)).toMatchObject({ body: 'hello', ends: 1, complete: true });
    const open = read('HTTP/1.0 200 OK\r\n\r\nuntil the end', 4);
    expect(open).toMatchObject({ body: 'until the end', ends: 0, complete: false });
    expect(read('HTTP/1.0 200 OK\r\n\r\nuntil the end', 4, true)).toMatchObject({ body: 'until the end', ends: 1, complete: true });
  });

  it('skips an interim response, joins repeated headers, and ends a 204 at its head', () => {
    const r = read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 2\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\n{}', 5);
    expect(r).toMatchObject({ status: 429, headers: { 'retry-after': '2', 'x-a': '1, 2' }, body: '{}', complete: true });
    expect(read('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, body: '', ends: 1, complete: true });
  });

  it('a body cut short is not complete', () => {
    expect(read(chunked.slice(0, chunked.indexOf('0\r\n')), 9, true)).toMatchObject({ ends: 0, complete: false });
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello', 9, true)).toMatchObject({ body: 'hello', complete: false });
  });

  it('names what is wrong with a malformed response', () => {
    const bad = (raw: string) => () => read(raw, 3);
    expect(bad('SSH-2.0-OpenSSH\r\n\r\n')).toThrow('not an HTTP/1.1 status line: "SSH-2.0-OpenSSH"');
    expect(bad('HTTP/1.1 200 OK\r\nno colon\r\n\r\n')).toThrow('a malformed header line: "no colon"');
    expect(bad('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')).toThrow('a malformed Content-Length: "-1"');
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toThrow('a malformed chunk size (byte 0x7a)');
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n')).toThrow('a chunk of the body is longer than its size');
    expect(bad(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`)).toThrow('the response head is longer than 65536 bytes');
  });
});
