import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import type { AgentContext, SearchHit } from '../../core/agent.js';
import { builtinTools, findTool, runTool, toolSpecs } from './registry.js';
import { defineTool, ToolError } from './tool.js';

function ctx(search: (q: string, limit: number) => Promise<SearchHit[]> = async () => []): AgentContext {
  return {
    conversationId: 'c', userId: 'u', runId: 'r', signal: new AbortController().signal,
    now: () => new Date('2025-06-01T12:00:00Z'), searchConversation: search,
  };
}

describe('runTool', () => {
  it('runs the calculator', async () => {
    const r = await runTool('calculator', { expression: '2*(3+4)' }, ctx());
    expect(r.status).toBe('succeeded');
    expect(r.result).toEqual({ expression: '2*(3+4)', value: 14, text: '14' });
    expect(r.error).toBeUndefined();
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('turns an evaluator error into a failed outcome with its message', async () => {
    const r = await runTool('calculator', { expression: '1/0' }, ctx());
    expect(r).toMatchObject({ status: 'failed', error: 'division by zero at position 1' });
    expect(r.result).toBeUndefined();
  });

  it('validates arguments with zod before executing and reports the zod message', async () => {
    let called = false;
    const search = async () => { called = true; return []; };
    const bad = await runTool('search_conversation', { query: 'x', limit: 50 }, ctx(search));
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatch(/^invalid arguments for search_conversation: limit: Too big: expected number to be <=10$/);
    expect(called).toBe(false);

    const wrongType = await runTool('calculator', { expression: 42 }, ctx());
    expect(wrongType.error).toBe('invalid arguments for calculator: expression: Invalid input: expected string, received number');

    const notObject = await runTool('current_time', 'Tokyo', ctx());
    expect(notObject.error).toBe('invalid arguments for current_time: Invalid input: expected object, received string');
  });

  it('reports an unknown tool', async () => {
    expect(await runTool('rm_rf', {}, ctx())).toMatchObject({ status: 'failed', error: "unknown tool 'rm_rf'" });
  });

  it('contains an unexpected failure of the port, shortened', async () => {
    const r = await runTool('search_conversation', { query: 'x' }, ctx(async () => { throw new Error(`connection reset ${'x'.repeat(500)}`); }));
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^search_conversation failed unexpectedly: connection reset x+…$/);
    expect(r.error!.length).toBeLessThan(260);
  });

  it('contains a throw of a non-Error value', async () => {
    const weird = defineTool({ name: 'weird', description: 'throws a string', schema: z.object({}), async execute() { throw 'boom'; } });
    expect(await runTool('weird', {}, ctx(), [weird])).toMatchObject({ status: 'failed', error: 'weird failed unexpectedly: boom' });
  });

  it('passes ToolError messages through unchanged', async () => {
    const t = defineTool({ name: 't', description: 'd', schema: z.object({}), async execute() { throw new ToolError('nice message'); } });
    expect(await runTool('t', {}, ctx(), [t])).toMatchObject({ status: 'failed', error: 'nice message' });
  });

  it('applies schema defaults before executing', async () => {
    const seen: number[] = [];
    await runTool('search_conversation', { query: 'pizza' }, ctx(async (_q, limit) => { seen.push(limit); return []; }));
    expect(seen).toEqual([5]);
  });
});

describe('tool specs for LLM providers', () => {
  it('describes every tool with a JSON schema of its input', () => {
    const specs = toolSpecs();
    expect(specs.map((s) => s.name)).toEqual(['calculator', 'current_time', 'search_conversation']);
    for (const s of specs) {
      expect(s.description.length).toBeGreaterThan(20);
      expect(s.parameters.type).toBe('object');
      expect(s.parameters).not.toHaveProperty('$schema');
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    }
    const search = specs.find((s) => s.name === 'search_conversation')!;
    expect(search.parameters.required).toEqual(['query']);
    expect(search.parameters.properties).toMatchObject({
      query: { type: 'string', minLength: 1, maxLength: 200 },
      limit: { type: 'integer', minimum: 1, maximum: 10, default: 5 },
    });
    const clock = specs.find((s) => s.name === 'current_time')!;
    expect(clock.parameters.required).toBeUndefined();
  });

  it('finds tools by name', () => {
    expect(findTool('calculator')).toBe(builtinTools[0]);
    expect(findTool('nope')).toBeUndefined();
  });
});
