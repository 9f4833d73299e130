// INTERIM: replaced by the full built-in agent (src/agent/builtin.ts and tools/).
import type { Agent, AgentEvent, ChatTurn, AgentContext } from './types.js';

export interface AgentOptions {
  tokenDelayMs?: number;
}

const pause = (ms: number, signal: AbortSignal) => new Promise<void>((r) => {
  if (ms <= 0 || signal.aborted) return r();
  const t = setTimeout(r, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
});

class InterimAgent implements Agent {
  readonly name = 'builtin';
  constructor(private readonly delay: number) {}
  async *run(history: ChatTurn[], ctx: AgentContext): AsyncIterable<AgentEvent> {
    const last = [...history].reverse().find((t) => t.role === 'user')?.content ?? '';
    yield { type: 'thinking', step: 1, text: 'Reading the message. ' };
    let answer = `You said: ${last}. This is the built-in offline agent; it has a calculator, a clock and conversation search.`;
    const expr = /[-+*/^().\d\s]*\d[-+*/^().\d\s]*[-+*/^][-+*/^().\d\s]*\d[-+*/^().\d\s]*/.exec(last)?.[0]?.trim();
    if (expr) {
      yield { type: 'thinking', step: 2, text: 'This needs the calculator.' };
      yield { type: 'tool_call', id: 'call_1', name: 'calculator', arguments: { expression: expr } };
      const t0 = performance.now();
      const value = Function(`"use strict"; return (${expr.replace(/\^/g, '**')})`)() as number;
      yield { type: 'tool_result', id: 'call_1', status: 'succeeded', result: { value }, duration_ms: performance.now() - t0 };
      answer = `${expr} = ${value}. ` + answer;
    }
    for (const w of answer.match(/\S+\s*/g) ?? []) {
      await pause(this.delay, ctx.signal);
      if (ctx.signal.aborted) return;
      yield { type: 'delta', text: w };
    }
    yield { type: 'usage', prompt_tokens: last.length, completion_tokens: answer.length };
  }
}

export function createAgent(_name: 'builtin', opts: AgentOptions = {}): Agent {
  return new InterimAgent(opts.tokenDelayMs ?? 15);
}
