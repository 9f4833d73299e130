// The built-in embedder: feature hashing (the "hashing trick") of word unigrams and bigrams
// into a fixed number of dimensions, with a sign hash so collisions cancel on average and
// sublinear term weights, then L2-normalised so cosine similarity is a dot product.
// Deterministic and offline: good at "which passage shares the most words with the question",
// which is what document search over one user's notes mostly needs; no synonyms.
import { createHash } from 'node:crypto';
import type { Embedder } from './types.js';

export const HASHING_DIMS = 1024;
const SLOTS = 2;

const STOP = new Set(('a an and are as at be but by can could did do does for from had has have how i if in into is it its '
  + 'me my of on or our so than that the their them then there these they this to was we were what when where which who '
  + 'why will with would you your about does doing any all some more most other such no not only own same too very just').split(' '));

export function terms(text: string): string[] {
  // Hyphenated compounds count as their parts and as one word, so "Wi-Fi" meets "wifi".
  const raw = text.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? [];
  const words = raw
    .flatMap((w) => (w.includes('-') ? [...w.split('-'), w.replaceAll('-', '')] : [w]))
    .filter((w) => !STOP.has(w))
    .map(stem);
  const out = [...words];
  for (let i = 0; i + 1 < words.length; i++) out.push(`${words[i]} ${words[i + 1]}`);
  return out;
}

// A light suffix stripper: enough for plurals and common verb forms to meet.
function stem(w: string): string {
  if (w.length <= 3 || /\d/.test(w)) return w;
  for (const [suf, rep] of [['ies', 'y'], ['sses', 'ss'], ['ing', ''], ['ed', ''], ['es', ''], ['s', '']] as const) {
    if (w.endsWith(suf) && w.length - suf.length >= 3 && !(suf === 's' && w.endsWith('ss'))) return w.slice(0, -suf.length) + rep;
  }
  return w;
}

export function hashEmbed(text: string, dims = HASHING_DIMS): number[] {
  const counts = new Map<string, number>();
  for (const t of terms(text)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const v = new Array<number>(dims).fill(0);
  for (const [t, n] of counts) {
    // Each term lands in SLOTS places with its own signs: a collision with one other term then
    // adds only a fraction of a real match, so chance overlaps rank below shared words.
    const h = createHash('sha256').update(t).digest();
    const weight = ((1 + Math.log(n)) * (t.includes(' ') ? 0.5 : 1)) / Math.sqrt(SLOTS);
    for (let k = 0; k < SLOTS; k++) {
      const slot = h.readUInt32LE(k * 5) % dims;
      const sign = (h[k * 5 + 4]! & 1) === 0 ? 1 : -1;
      v[slot]! += sign * weight;
    }
  }
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return norm === 0 ? v : v.map((x) => x / norm);
}

export class HashingEmbedder implements Embedder {
  readonly model = `builtin-hash-${HASHING_DIMS}`;
  readonly dims = HASHING_DIMS;

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((t) => hashEmbed(t, this.dims));
  }
}
