import { describe, expect, it } from 'vitest';
import { hashEmbed, HashingEmbedder, terms } from './hashing.js';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('hashing embedder', () => {
  it('is deterministic, normalised and sized', async () => {
    const e = new HashingEmbedder();
    const [a, b] = await e.embed(['Kubernetes pods restart', 'Kubernetes pods restart']);
    expect(a).toEqual(b);
    expect(a).toHaveLength(1024);
    expect(dot(a!, a!)).toBeCloseTo(1, 6);
  });

  it('text without words is the zero vector', () => {
    expect(hashEmbed('  ... !!! ').every((x) => x === 0)).toBe(true);
  });

  it('drops stop words and meets plurals', () => {
    expect(terms('The cats are sleeping')).toEqual(['cat', 'sleep', 'cat sleep']);
  });

  it('shared words score higher than unrelated text', () => {
    const q = hashEmbed('how do I reset my router password');
    expect(dot(q, hashEmbed('To reset the router password, hold the button for ten seconds.')))
      .toBeGreaterThan(dot(q, hashEmbed('Sourdough bread needs a starter and a long fermentation.')));
  });
});
