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
