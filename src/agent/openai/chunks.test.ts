import { describe, expect, it } from 'vitest';
import { ChunkDecoder } from './chunks.js';
import { LlmError } from './errors.js';

const chunk = (delta: object, extra: object = {}) => JSON.stringify({ choices: [{ index: 0, delta }], ...extra });

describe('ChunkDecoder', () => {
  it('assembles tool calls by index, tolerating a repeated name and a missing index', () => {
    const d = new ChunkDecoder();
    d.decode(chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'current_time', arguments: '' } }] }));
    d.decode(chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'calculator', arguments: '{"expr' } }] }));
    d.decode(chunk({ tool_calls: [{ index: 0, function: { name: 'calculator', arguments: 'ession":"1+1"}' } }] }));
    d.decode(chunk({ tool_calls: [{ function: { arguments: '{}' } }] })); // no index: the latest call
    expect(d.decode('[DONE]')).toEqual([{ type: 'tool_calls', calls: [
      { id: 'a', name: 'calculator', arguments: '{"expression":"1+1"}' },
      { id: 'b', name: 'current_time', arguments: '{}' },
    ] }]);
    expect(d.finished).toBe(true);
  });

  it('gives calls without an id a stable one', () => {
    const d = new ChunkDecoder();
    d.decode(chunk({ tool_calls: [{ index: 0, function: { name: 'calculator', arguments: '{}' } }] }));
    expect(d.flushToolCalls()).toEqual([{ type: 'tool_calls', calls: [{ id: 'call_0', name: 'calculator', arguments: '{}' }] }]);
  });

  it('rejects a tool call without a name, an array chunk and a string error', () => {
    const d = new ChunkDecoder();
    d.decode(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }));
    expect(() => d.flushToolCalls()).toThrow(LlmError);
    expect(() => new ChunkDecoder().decode('[1,2]')).toThrow('not a JSON object');
    expect(() => new ChunkDecoder().decode('{"error":"overloaded"}')).toThrow('reported an error mid-answer: overloaded');
  });

  it('ignores other choices, empty content and null usage', () => {
    const d = new ChunkDecoder();
    expect(d.decode(JSON.stringify({ choices: [{ index: 1, delta: { content: 'no' } }, { index: 0, delta: { content: '' } }], usage: null }))).toEqual([]);
  });
});
