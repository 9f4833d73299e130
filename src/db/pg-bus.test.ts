import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../core/bus.js';
import { coalesce } from './pg-bus.js';

const delta = (run: string, offset: number, text: string): BusEvent => ({
  kind: 'frame', conv: 'c', frame: { type: 'response.delta', run_id: run, message_id: 'm', offset, delta: text },
});

describe('coalesce', () => {
  it('merges contiguous deltas of one run and stops at anything else', () => {
    const q: BusEvent[] = [delta('r', 0, 'Hel'), delta('r', 3, 'lo'), delta('r', 5, ' you'), delta('s', 0, 'x'), delta('r', 9, '!')];
    expect(coalesce(q)).toEqual(delta('r', 0, 'Hello you'));
    expect(q).toHaveLength(2);
    expect(coalesce(q)).toEqual(delta('s', 0, 'x'));
  });

  it('never merges across a gap or a non-delta event', () => {
    const q: BusEvent[] = [delta('r', 0, 'a'), delta('r', 5, 'b')];
    expect(coalesce(q)).toEqual(delta('r', 0, 'a'));
    const typing: BusEvent = { kind: 'frame', conv: 'c', frame: { type: 'typing', session_id: 's', user_id: 'u', state: 'start' } };
    const q2: BusEvent[] = [typing, delta('r', 0, 'a')];
    expect(coalesce(q2)).toBe(typing);
  });
});
