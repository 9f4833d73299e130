import { describe, expect, it } from 'vitest';
import { chunkText } from './chunker.js';

const sentence = (n: number) => `Sentence number ${n} says something.`;

describe('chunkText', () => {
  it('one short text is one chunk with exact offsets', () => {
    const text = '  Hello world. Second sentence!  ';
    expect(chunkText(text, { maxChars: 100, overlap: 20 })).toEqual([{ index: 0, content: 'Hello world. Second sentence!', start: 2, end: 31 }]);
  });

  it('empty or blank text gives no chunks', () => {
    expect(chunkText('', { maxChars: 100, overlap: 20 })).toEqual([]);
    expect(chunkText(' \n\n \n', { maxChars: 100, overlap: 20 })).toEqual([]);
  });

  it('ends chunks on paragraph boundaries when a chunk is half full', () => {
    const p1 = [1, 2, 3].map(sentence).join(' ');
    const p2 = [4, 5, 6].map(sentence).join(' ');
    const text = `${p1}\n\n${p2}`;
    const chunks = chunkText(text, { maxChars: 150, overlap: 0 });
    expect(chunks.map((c) => c.content)).toEqual([p1, p2]);
    for (const c of chunks) expect(text.slice(c.start, c.end)).toBe(c.content);
  });

  it('splits on sentence boundaries and overlaps by whole sentences', () => {
    const text = Array.from({ length: 12 }, (_, i) => sentence(i + 1)).join(' ');
    const chunks = chunkText(text, { maxChars: 120, overlap: 40 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.content.length).toBeLessThanOrEqual(120);
      expect(c.content).toMatch(/^Sentence number \d+ says something\.( Sentence number \d+ says something\.)*$/);
    }
    // each chunk starts with the last sentence of the previous one
    for (let i = 1; i < chunks.length; i++) {
      const prevLast = chunks[i - 1]!.content.match(/Sentence number \d+ says something\.$/)![0];
      expect(chunks[i]!.content.startsWith(prevLast)).toBe(true);
    }
    expect(chunks.at(-1)!.content.endsWith(sentence(12))).toBe(true);
  });

  it('markdown headings start a new paragraph', () => {
    const text = '# Title\nIntro line here.\n## Section\nBody text here.';
    const chunks = chunkText(text, { maxChars: 30, overlap: 0 });
    expect(chunks.map((c) => c.content)).toEqual(['# Title\nIntro line here.', '## Section\nBody text here.']);
  });

  it('cuts a sentence longer than a chunk between words, and an endless word anywhere', () => {
    const long = Array.from({ length: 50 }, () => 'word').join(' ');
    const chunks = chunkText(long, { maxChars: 42, overlap: 0 });
    for (const c of chunks) expect(c.content.length).toBeLessThanOrEqual(42);
    expect(chunks.map((c) => c.content).join(' ')).toBe(long);
    expect(chunkText('x'.repeat(100), { maxChars: 42, overlap: 0 }).map((c) => c.content.length)).toEqual([42, 42, 16]);
  });
});
