// Raw HTTP/1.1 over one TCP connection, for what fetch hides: exact headers, bodies a HEAD
// must not have, and whether a keep-alive connection still answers afterwards.
import net from 'node:net';
import { expect } from 'vitest';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function parse(response: string): RawResponse {
  const [head = '', ...rest] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

// Sends requests one after another on one keep-alive connection, each after the previous
// response is complete (a response to HEAD, or a 204, has no body whatever its headers say).
export async function onOneConnection(port: number, requests: string[]): Promise<RawResponse[]> {
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  let wake = () => {};
  sock.on('data', (b) => { buf += b.toString(); wake(); });
  const out: RawResponse[] = [];
  try {
    for (const req of requests) {
      sock.write(req);
      const bodiless = req.startsWith('HEAD ');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end >= 0) {
          const r = parse(buf.slice(0, end + 4));
          const length = bodiless || r.status === 204 ? 0 : Number(r.headers['content-length'] ?? 0);
          if (buf.length >= end + 4 + length) {
            out.push({ ...r, body: buf.slice(end + 4, end + 4 + length) });
            buf = buf.slice(end + 4 + length);
            break;
          }
        }
        await new Promise<void>((resolve, reject) => {
          wake = resolve;
          sock.once('close', () => reject(new Error(`the connection closed after ${out.length} responses: ${JSON.stringify(buf)}`)));
        });
      }
    }
    expect(buf).toBe(''); // no stray bytes after the last response
    return out;
  } finally {
    sock.destroy();
  }
}
