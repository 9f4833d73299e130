import { describe, expect, it } from 'vitest';
import { toolId } from './runs.js';
import { parseEventId, UiStreamMapper, type UiEvent } from './ui-stream.js';

const RUN = '11111111-1111-4111-8111-111111111111';
const MSG = '22222222-2222-4222-8222-222222222222';
const types = (evs: UiEvent[]) => evs.map((e) => e.chunk.type);
const text = (evs: UiEvent[]) => evs.map((e) => (e.chunk.type === 'text-delta' ? e.chunk.delta : '')).join('');
const delta = (offset: number, d: string) => ({ type: 'response.delta' as const, run_id: RUN, message_id: MSG, offset, delta: d });

describe('UiStreamMapper', () => {
  it('maps a run with reasoning and a tool call to parts in protocol order, with offset ids', () => {
    const m = new UiStreamMapper(RUN, MSG, 2);
    const out = [
      ...m.frame({ type: 'run.started', run_id: RUN, message_id: MSG, seq: 2, agent: 'builtin' }),
      ...m.frame({ type: 'agent.thinking', run_id: RUN, step: 1, text: 'let me ' }),
      ...m.frame({ type: 'agent.thinking', run_id: RUN, step: 1, text: 'compute' }),
      ...m.frame({ type: 'tool.call', run_id: RUN, tool_call_id: 'call_1', name: 'calculator', arguments: { expression: '2^10' } }),
      ...m.frame({ type: 'tool.result', run_id: RUN, tool_call_id: 'call_1', status: 'succeeded', result: { value: 1024 }, duration_ms: 1 }),
      ...m.frame(delta(0, 'It is ')),
      ...m.frame(delta(6, '1024.')),
      ...m.frame({ type: 'response.completed', run_id: RUN, message_id: MSG, seq: 2, content: 'It is 1024.', cached: false, usage: { prompt_tokens: 1, completion_tokens: 1 } }),
    ];
    expect(types(out)).toEqual([
      'start', 'start-step', 'reasoning-start', 'reasoning-delta', 'reasoning-delta', 'reasoning-end',
      'tool-input-start', 'tool-input-available', 'tool-output-available',
      'finish-step', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish',
    ]);
    expect(out.find((e) => e.chunk.type === 'tool-input-available')!.chunk).toMatchObject({ toolCallId: toolId('call_1', RUN), toolName: 'calculator', dynamic: true });
    expect(text(out)).toBe('It is 1024.');
    expect(out.at(-1)!.id).toBe('2:11');
    expect(m.ended).toBe('complete');
  });

  it('sends each character once across a snapshot, overlapping deltas and the completion', () => {
    const m = new UiStreamMapper(RUN, MSG, 4);
    const out = [
      ...m.frame(delta(5, 'world')), // before the snapshot: a gap, dropped
      ...m.frame({ type: 'run.snapshot', run_id: RUN, message_id: MSG, seq: 4, content: 'hello wor', offset: 9 }),
      ...m.frame(delta(5, ' world')), // overlaps what the snapshot gave
      ...m.frame(delta(11, '!')),
      ...m.frame({ type: 'response.completed', run_id: RUN, message_id: MSG, seq: 4, content: 'hello world! Bye', cached: false, usage: { prompt_tokens: 0, completion_tokens: 0 } }),
    ];
    expect(text(out)).toBe('hello world! Bye');
    expect(m.offset).toBe(16);
  });

  it('ends a cancelled run with abort after the stored text, and a failed one with error', () => {
    const c = new UiStreamMapper(RUN, MSG, 1);
    const out = [...c.frame(delta(0, 'par')), ...c.failed({ type: 'run.failed', run_id: RUN, message_id: MSG, code: 'cancelled', message: 'stopped' }, 'partial')];
    expect(text(out)).toBe('partial');
    expect(out.at(-1)!.chunk).toEqual({ type: 'abort', reason: 'stopped' });
    const f = new UiStreamMapper(RUN, MSG, 1);
    const out2 = f.failed({ type: 'run.failed', run_id: RUN, message_id: MSG, code: 'llm_timeout', message: 'slow' }, '');
    expect(out2.at(-1)!.chunk).toEqual({ type: 'error', errorText: 'llm_timeout: slow' });
  });

  it('replays stored tool calls once, including a pending approval, and ignores other runs', () => {
    const m = new UiStreamMapper(RUN, MSG, 3);
    const id = toolId('call_9', RUN);
    const out = [
      ...m.replayTools([{ toolCallId: id, name: 'clock', input: {}, approvalId: 'ap', approval: 'pending' }]),
      ...m.frame({ type: 'tool.call', run_id: RUN, tool_call_id: 'call_9', name: 'clock', arguments: {} }),
      ...m.frame({ type: 'tool.approval_request', run_id: RUN, tool_call_id: 'call_9', approval_id: 'ap', name: 'clock', arguments: {}, expires_at: '' }),
      ...m.frame({ ...delta(0, 'other run'), run_id: '33333333-3333-4333-8333-333333333333' }),
      ...m.frame({ type: 'tool.approval_result', run_id: RUN, tool_call_id: 'call_9', approval_id: 'ap', decision: 'denied', reason: 'user', decided_by: 'alice', decided_at: '' }),
    ];
    expect(types(out)).toEqual(['start', 'start-step', 'tool-input-start', 'tool-input-available', 'tool-approval-request', 'tool-output-denied']);
  });

  it('continues after Last-Event-ID without a second start', () => {
    const m = new UiStreamMapper(RUN, MSG, 7, { skipText: 3, announced: true });
    const out = m.stored('complete', 'abcdef');
    expect(types(out)).toEqual(['start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish']);
    expect(text(out)).toBe('def');
    expect(parseEventId('7:3')).toEqual({ seq: 7, offset: 3 });
    expect(parseEventId('junk')).toBeUndefined();
  });
});
