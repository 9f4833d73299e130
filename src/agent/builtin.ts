// The built-in agent: deterministic and offline, but it really plans, calls tools and streams.
// For the last user turn it narrates its reasoning (thinking), runs each planned tool
// (tool_call → tool_result), streams an answer built from the results word by word (delta) and
// reports a token estimate (usage). Aborting ctx.signal ends the stream within one pause.
import { randomBytes } from 'node:crypto';
import { composeAnswer, thinkingSteps, type ExecutedCall } from './narration.js';
import { estimateTokens, pause, phraseChunks, wordChunks } from './pacing.js';
import { planToolCalls } from './planner.js';
import { builtinTools, runApprovedTool } from './tools/registry.js';
import type { ToolDefinition } from './tools/tool.js';
import type { Agent, AgentContext, AgentEvent, ChatTurn } from '../core/agent.js';

export interface BuiltinAgentOptions {
  // Pause between answer chunks, so clients see the answer stream in. Tests pass 0.
  tokenDelayMs?: number;
  // Pause between thinking chunks; a third of tokenDelayMs unless given.
  thinkingDelayMs?: number;
  // The tools it may call (the registry's builtinTools unless given, e.g. plus search_documents).
  tools?: readonly ToolDefinition[];
}

// More than this in one message is more likely pasted data than questions.
export const MAX_TOOL_CALLS = 5;
const WORDS_PER_THINKING_CHUNK = 4;

export const newToolCallId = (): string => `call_${randomBytes(8).toString('hex')}`;

export class BuiltinAgent implements Agent {
  readonly name = 'builtin';
  private readonly tokenDelayMs: number;
  private readonly thinkingDelayMs: number;
  private readonly tools: readonly ToolDefinition[];

  constructor(opts: BuiltinAgentOptions = {}) {
    this.tokenDelayMs = Math.max(0, opts.tokenDelayMs ?? 15);
    this.thinkingDelayMs = Math.max(0, opts.thinkingDelayMs ?? Math.floor(this.tokenDelayMs / 3));
    this.tools = opts.tools ?? builtinTools;
  }

  async *run(history: ChatTurn[], ctx: AgentContext): AsyncGenerator<AgentEvent> {
    const { signal } = ctx;
    const question = lastUserTurn(history);
    const planned = planToolCalls(question);
    const plan = planned.slice(0, MAX_TOOL_CALLS);

    const toolNames = this.tools.map((t) => t.name);
    const thoughts = thinkingSteps(question, plan, toolNames);
    for (const [i, thought] of thoughts.entries()) {
      for (const text of phraseChunks(thought, WORDS_PER_THINKING_CHUNK)) {
        if (signal.aborted) return;
        yield { type: 'thinking', step: i + 1, text };
        await pause(this.thinkingDelayMs, signal);
      }
    }

    const executed: ExecutedCall[] = [];
    for (const call of plan) {
      if (signal.aborted) return;
      const id = newToolCallId();
      yield { type: 'tool_call', id, name: call.tool, arguments: { ...call.arguments } };
      const outcome = await runApprovedTool(id, call.tool, { ...call.arguments }, ctx, this.tools);
      // A result that lands after a cancel belongs to nobody: the run manager has stopped reading.
      if (signal.aborted) return;
      yield { type: 'tool_result', id, ...outcome };
      executed.push({ plan: call, outcome });
    }

    const answer = composeAnswer(question, executed, planned.length - plan.length, toolNames);
    for (const [i, text] of wordChunks(answer).entries()) {
      if (i > 0) await pause(this.tokenDelayMs, signal);
      if (signal.aborted) return;
      yield { type: 'delta', text };
    }

    // Reasoning counts as completion, as hosted models bill it.
    yield {
      type: 'usage',
      prompt_tokens: estimateTokens(history.map((t) => t.content).join('\n')),
      completion_tokens: estimateTokens(thoughts.join(' ')) + estimateTokens(answer),
    };
  }
}

function lastUserTurn(history: ChatTurn[]): string {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]!.role === 'user') return history[i]!.content;
  }
  return '';
}
