// Merging streamed text by offset and stored messages by seq, frame order shuffled.
import { describe, expect, it } from 'vitest';
import { Transcript } from './transcript.js';
import type { ChatMessage } from './types.js';

const wire = (seq: number, o: Record<string, unknown> = {}) => ({
  id: `m${seq}`, seq, role: 'assistant', status: 'streaming', content: '', client_msg_id: null, run_id: 'r', user_id: null, created_at: '2026-01-01T00:00:00Z', ...o,
});
const delta = (offset: number, text: string) => ({ type: 'response.delta' as const, run_id: 'r', message_id: 'm1', offset, delta: text });

function words(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `w${i} `);
}

describe('streamed text', () => {
  it('assembles the same text from every order of deltas, with duplicates and a snapshot', () => {
    const parts = words(12);
    const full = parts.join('');
    const frames = parts.map((p, i) => delta(parts.slice(0, i).join('').length, p));
    for (let trial = 0; trial < 50; trial++) {
      const t = new Transcript(() => undefined);
      t.stored(wire(1));
      const shuffled = [...frames, ...frames.slice(3, 7)].sort(() => Math.random() - 0.5);
      let appended = '';
      for (const f of shuffled) appended += t.delta(f)?.text ?? '';
      const snap = t.snapshot({ type: 'run.snapshot', run_id: 'r', message_id: 'm1', seq: 1, content: full.slice(0, 20), offset: 20 });
      appended += snap?.text ?? '';
      expect(t.list()[0]!.content).toBe(full);
      expect(appended).toBe(full);
    }
  });

  it('reports text a replayed row adds to a streaming answer as appended', () => {
    const t = new Transcript(() => undefined);
    t.stored(wire(1));
    t.delta(delta(0, 'Hello '));
    expect(t.stored(wire(1, { content: 'Hello world' })).appended).toMatchObject({ offset: 6, text: 'world' });
    expect(t.stored(wire(1, { content: 'Hello' })).appended).toBeUndefined();
    expect(t.stored(wire(1, { status: 'complete', content: 'Hello world!' })).appended).toMatchObject({ offset: 11, text: '!' });
    expect(t.list()[0]).toMatchObject({ status: 'complete', content: 'Hello world!' });
  });

  it('waits for the text before a gap, and a snapshot fills it', () => {
    const t = new Transcript(() => undefined);
    t.stored(wire(1));
    expect(t.delta(delta(10, 'later'))).toBeUndefined();
    expect(t.list()[0]!.content).toBe('');
    const a = t.snapshot({ type: 'run.snapshot', run_id: 'r', message_id: 'm1', seq: 1, content: '0123456789', offset: 10 });
    expect(a).toMatchObject({ offset: 0, text: '0123456789later' });
  });

  it('keeps a gap out of the resume point when the run ends with text missing', () => {
    const t = new Transcript(() => undefined);
    t.stored(wire(1, { id: 'u1', role: 'user', status: 'complete', run_id: null }));
    t.stored(wire(2, { id: 'm1' }));
    t.delta(delta(0, 'ab'));
    t.delta(delta(5, 'xy'));
    t.failed({ type: 'run.failed', run_id: 'r', message_id: 'm1', code: 'interrupted', message: '' });
    expect(t.resumeSeq()).toBe(1);
    t.stored(wire(2, { id: 'm1', status: 'interrupted', content: 'abcdexy' }));
    expect(t.resumeSeq()).toBe(2);
    expect(t.list()[1]).toMatchObject({ status: 'interrupted', content: 'abcdexy' });
  });

  it('ends an answer whose run failed with the stored status and text, whatever the failure code', () => {
    const t = new Transcript(() => undefined);
    t.stored(wire(1, { id: 'm1' }));
    t.delta(delta(0, 'ab'));
    t.failed({ type: 'run.failed', run_id: 'r', message_id: 'm1', code: 'llm_timeout', message: 'the model timed out', content: 'abc' });
    expect(t.list()[0]).toMatchObject({ status: 'failed', content: 'abc', run: { failure: { code: 'llm_timeout' } } });
    expect(t.resumeSeq()).toBe(1);
  });

  it('never lets a stale streaming row undo a completed answer', () => {
    const t = new Transcript(() => undefined);
    t.completed({ type: 'response.completed', run_id: 'r', message_id: 'm1', seq: 1, content: 'done', cached: true, usage: { prompt_tokens: 1, completion_tokens: 1 } });
    t.stored(wire(1, { id: 'm1', content: 'do' }));
    expect(t.list()[0]).toMatchObject({ status: 'complete', content: 'done', run: { cached: true } });
  });
});

describe('stored messages', () => {
  it('resumes after the last contiguous final seq', () => {
    const t = new Transcript(() => undefined);
    const final = (seq: number) => t.stored(wire(seq, { status: 'complete' }));
    final(1); final(2); final(4);
    expect(t.resumeSeq()).toBe(2);
    final(3);
    expect(t.resumeSeq()).toBe(4);
    t.setBase(10);
    expect(t.resumeSeq()).toBe(10);
  });

  it('turns a pending message into the stored one by client_msg_id, once', () => {
    const changes: ChatMessage[] = [];
    const t = new Transcript((m) => changes.push(m));
    t.addPending('c1', 'hi', 'u');
    t.addPending('c2', 'there', 'u');
    expect(t.list().map((m) => m.status)).toEqual(['pending', 'pending']);
    t.stored(wire(5, { role: 'user', status: 'complete', content: 'there', client_msg_id: 'c2', run_id: null }));
    t.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm4', seq: 4, duplicate: false });
    t.ack({ type: 'ack', client_msg_id: 'c2', message_id: 'm5', seq: 5, duplicate: true });
    expect(t.list().map((m) => [m.seq, m.content, m.status])).toEqual([[4, 'hi', 'complete'], [5, 'there', 'complete']]);
    expect(changes.length).toBe(5);
  });
});
