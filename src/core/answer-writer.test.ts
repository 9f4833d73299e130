import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { AnswerWriter, type AnswerChunk } from './answer-writer.js';

const log = createLogger('silent');

function store(fail: () => boolean = () => false) {
  const calls: AnswerChunk[][] = [];
  const stored = new Map<string, Map<number, string>>();
  return {
    calls,
    text: (id: string) => [...(stored.get(id) ?? new Map<number, string>()).entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t).join(''),
    appendChunks: async (chunks: AnswerChunk[]) => {
      calls.push(chunks);
      // the write lands, then the answer is lost: the caller cannot tell it committed
      for (const c of chunks) {
        let m = stored.get(c.messageId);
        if (!m) stored.set(c.messageId, (m = new Map()));
        m.set(c.offset, c.text); // ON CONFLICT (message_id, off) DO UPDATE
      }
      if (fail()) throw new Error('connection lost');
    },
  };
}

describe('AnswerWriter', () => {
  it('flushes the new text of every run in one store call, and nothing when nothing is new', async () => {
    const s = store();
    const w = new AnswerWriter(s, 60_000, log);
    const a = { messageId: 'a' };
    const b = { messageId: 'b' };
    const toA = w.track(a);
    const toB = w.track(b);
    toA('Hel');
    toB('Wor');
    await w.flush();
    toA('lo');
    await w.flush();
    await w.flush();
    expect(s.calls).toEqual([
      [{ messageId: 'a', offset: 0, text: 'Hel' }, { messageId: 'b', offset: 0, text: 'Wor' }],
      [{ messageId: 'a', offset: 3, text: 'lo' }],
    ]);
    await w.release(a);
    await w.release(b);
  });

  it('retries a failed flush from the same offset with the text grown meanwhile, so the stored text has no gap', async () => {
    let failing = true;
    const s = store(() => failing);
    const w = new AnswerWriter(s, 60_000, log);
    const a = { messageId: 'a' };
    const toA = w.track(a);
    toA('abc');
    await w.flush();
    toA('def');
    await w.flush();
    failing = false;
    toA('ghi');
    await w.flush();
    expect(s.calls.map((c) => c[0]!.offset)).toEqual([0, 0, 0]);
    expect(s.text('a')).toBe('abcdefghi');
    toA('jk');
    await w.flush();
    expect(s.text('a')).toBe('abcdefghijk');
    await w.release(a);
  });

  it('text appended while a flush is in flight goes with the next one, from where the stored text ends', async () => {
    const s = store();
    let land!: () => void;
    const held = { appendChunks: (c: AnswerChunk[]) => new Promise<void>((r) => { land = r; }).then(() => s.appendChunks(c)) };
    const w = new AnswerWriter(held, 60_000, log);
    const a = { messageId: 'a' };
    const toA = w.track(a);
    toA('Hello');
    const first = w.flush();
    toA(' wor');
    toA('ld');
    land();
    await first;
    const second = w.flush();
    land();
    await second;
    expect(s.calls).toEqual([[{ messageId: 'a', offset: 0, text: 'Hello' }], [{ messageId: 'a', offset: 5, text: ' world' }]]);
    expect(s.text('a')).toBe('Hello world');
    await w.release(a);
  });

  it('release waits for the flush in flight and the run is never written again', async () => {
    let release!: () => void;
    const calls: AnswerChunk[][] = [];
    const w = new AnswerWriter({ appendChunks: (c) => { calls.push(c); return new Promise<void>((r) => { release = r; }); } }, 60_000, log);
    const a = { messageId: 'a' };
    const toA = w.track(a);
    toA('x');
    const flushing = w.flush();
    let released = false;
    const done = w.release(a).then(() => { released = true; });
    await Promise.resolve();
    expect(released).toBe(false);
    release();
    await flushing;
    await done;
    toA('y');
    await w.flush();
    expect(calls).toHaveLength(1);
    expect(w.size).toBe(0);
  });
});
