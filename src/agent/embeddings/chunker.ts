// Splits a document into overlapping chunks for embedding. Chunks end on paragraph boundaries
// when they can and on sentence boundaries otherwise, so a chunk is a passage a person could
// quote; a sentence longer than a whole chunk is cut between words. Each chunk repeats the last
// sentences of the one before (up to `overlap` characters), so a fact straddling a boundary
// is whole in at least one chunk. Offsets point into the original text.

export interface Chunk {
  index: number;
  content: string;
  start: number;
  end: number;
}

export interface ChunkOptions {
  maxChars: number;
  overlap: number;
}

interface Unit {
  start: number;
  end: number;
  paragraph: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { maxChars: 1000, overlap: 200 };

export function chunkText(text: string, o: ChunkOptions = DEFAULT_CHUNKING): Chunk[] {
  const units = sentenceUnits(text, o.maxChars);
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < units.length) {
    let j = i;
    // Always take one unit; then more while they fit. Prefer to stop at a paragraph break once
    // the chunk is at least half full.
    while (j + 1 < units.length && units[j + 1]!.end - units[i]!.start <= o.maxChars) {
      const breaksParagraph = units[j + 1]!.paragraph !== units[j]!.paragraph;
      if (breaksParagraph && units[j]!.end - units[i]!.start >= o.maxChars / 2) break;
      j++;
    }
    const start = units[i]!.start;
    const end = units[j]!.end;
    chunks.push({ index: chunks.length, content: text.slice(start, end), start, end });
    if (j + 1 >= units.length) break;
    // Next chunk starts with the trailing units of this one that fit in the overlap, but always
    // moves forward by at least one unit.
    let k = j + 1;
    while (k - 1 > i && end - units[k - 1]!.start <= o.overlap) k--;
    i = k;
  }
  return chunks;
}

// Sentences (trimmed spans) tagged with their paragraph; markdown headings start a paragraph.
function sentenceUnits(text: string, maxChars: number): Unit[] {
  const units: Unit[] = [];
  const paragraphs = /[^\n]*(?:\n(?![ \t]*\n)(?![ \t]*#{1,6}\s)[^\n]*)*/g;
  let p = 0;
  for (const m of text.matchAll(paragraphs)) {
    if (m[0].trim() === '') continue;
    const base = m.index;
    // A sentence ends at . ! ? (with closing quotes/brackets) followed by whitespace, or at a line
    // that is a list item or heading.
    const sentences = /[^\s][\s\S]*?(?:[.!?]+["'’”)\]]*(?=\s|$)|$)/g;
    for (const s of m[0].matchAll(sentences)) {
      const raw = s[0];
      const start = base + s.index;
      const end = start + raw.trimEnd().length;
      if (end <= start) continue;
      for (const piece of splitLong(text, start, end, maxChars)) units.push({ ...piece, paragraph: p });
    }
    p++;
  }
  return units;
}

function splitLong(text: string, start: number, end: number, maxChars: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let s = start;
  while (end - s > maxChars) {
    let cut = text.lastIndexOf(' ', s + maxChars);
    if (cut <= s) cut = s + maxChars; // one enormous word
    out.push({ start: s, end: cut });
    s = cut;
    while (s < end && /\s/.test(text[s]!)) s++;
  }
  if (end > s) out.push({ start: s, end });
  return out;
}
