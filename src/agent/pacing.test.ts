import { describe, it, expect } from 'vitest';
import { estimateTokens, pause, phraseChunks, wordChunks } from './pacing.js';

describe('pacing', () => {
  it.each(['2*(3+4) = 14', '  leading and trailing  ', 'line one\n\n- item\ttab', 'x', '', '   '])('word chunks of %j concatenate back exactly', (text) => {
    expect(wordChunks(text).join('')).toBe(text);
    expect(phraseChunks(text, 3).join('')).toBe(text);
  });

  it('makes one chunk per word, spaces attached', () => {
    expect(wordChunks('The time is 12:00.')).toEqual(['The ', 'time ', 'is ', '12:00.']);
    expect(phraseChunks('a b c d e', 2)).toEqual(['a b ', 'c d ', 'e']);
  });

  it('estimates about 1.3 tokens per word', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('one two three four five six seven eight nine ten')).toBe(13);
  });

  it('pause ends at once when the signal aborts, and does not reject', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort('cancelled'), 10);
    await expect(pause(60_000, ac.signal)).resolves.toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(5_000);
    await expect(pause(60_000, ac.signal)).resolves.toBeUndefined();
  });
});
