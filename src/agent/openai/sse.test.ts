import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('splits events on blank lines and joins multi-line data', () => {
    const p = new SseParser();
    expect(p.push('data: {"a":1}\n\ndata: x\ndata: y\n\n')).toEqual(['{"a":1}', 'x\ny']);
  });

  it('keeps partial events and partial UTF-8 across pieces', () => {
    const p = new SseParser();
    const bytes = Buffer.from('data: {"t":"héllo"}\r\n\r\ndata: [DONE]\n\n');
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...p.push(bytes.subarray(i, i + 1)));
    out.push(...p.end());
    expect(out).toEqual(['{"t":"héllo"}', '[DONE]']);
  });

  it('ignores comments, other fields and empty events', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata:no-space\n\n\n\n')).toEqual(['no-space']);
  });

  it('delivers an unterminated last event at the end', () => {
    const p = new SseParser();
    expect(p.push('data: last')).toEqual([]);
    expect(p.end()).toEqual(['last']);
  });
});

describe('SseParser, fields and line ends', () => {
  const whole = (s: string) => { const p = new SseParser(); return [...p.push(s), ...p.end()]; };

  it('reads "data" with and without a value, with or without the space, and nothing else', () => {
    expect(whole('data\n\ndata:\n\ndata:  two spaces\n\ndataset: no\ndatum: no\nDATA: no\n\n')).toEqual(['', '', ' two spaces']);
  });

  it('ends lines on \\n, \\r\\n and a lone \\r alike, a colon inside the value kept', () => {
    expect(whole('data: a:b\rdata: c\r\n\rdata: d\n\r\n')).toEqual(['a:b\nc', 'd']);
  });

  it('gives the same events however the bytes are split', () => {
    const text = ': hi\r\ndata: {"x":"é€😀"}\n\nevent: e\ndata: 1\r\ndata:2\r\rdata\n\n:\ndata: tail';
    const expected = whole(text);
    expect(expected).toEqual(['{"x":"é€😀"}', '1\n2', '', 'tail']);
    const bytes = Buffer.from(text);
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let round = 0; round < 200; round++) {
      const p = new SseParser();
      const out: string[] = [];
      for (let i = 0; i < bytes.length;) {
        const n = 1 + rand(6);
        out.push(...p.push(bytes.subarray(i, i + n)));
        i += n;
      }
      out.push(...p.end());
      expect(out).toEqual(expected);
    }
  });
});
