// The OpenAI-compatible provider: a tool-calling loop over streamed chat completions. Each step
// is one model call; reasoning streams as thinking, text as the answer, and tool calls run
// through the same registry as the built-in agent, their results going back to the model, until
// it answers without tools or the step limit forces an answer (tool_choice: none).
import { estimateTokens } from '../pacing.js';
import { runApprovedTool, toolSpecs } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/tool.js';
import type { Agent, AgentContext, AgentEvent, ChatTurn } from '../../core/agent.js';
import type { ModelCallCache } from '../cache/types.js';
import { isPushing } from '../pushing.js';
import { chatCall, type ChatCallOptions } from './chat-call.js';
import type { ToolCallRequest } from './chunks.js';
import { CancelledError } from './http-stream.js';
import type { LlmError } from './errors.js';

export interface OpenAiAgentOptions extends ChatCallOptions {
  model: string;
  maxSteps: number;
  tools: readonly ToolDefinition[];
  cache?: ModelCallCache;
  systemPrompt?: string;
  metrics?: {
    llmRequestDuration: { observe(labels: { provider: string; outcome: string }, v: number): void };
    llmTokens: { inc(labels: { kind: string }, v: number): void };
  };
}

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant in a chat application. Use the tools when they help. '
  + 'When an answer uses the user\'s documents (search_documents), cite the titles of the documents you used.';

type WireMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] }
  | { role: 'tool'; tool_call_id: string; content: string };

const MAX_TOOL_RESULT_CHARS = 16_000;

export class OpenAiAgent implements Agent {
  readonly name = 'openai';
  // The tool list as the model server wants it: the same for every call, and converting
  // the zod schemas to JSON Schema is not cheap, so it is done once.
  private readonly tools: { type: 'function'; function: ReturnType<typeof toolSpecs>[number] }[];

  constructor(private readonly o: OpenAiAgentOptions) {
    this.tools = toolSpecs(o.tools).map((t) => ({ type: 'function' as const, function: t }));
  }

  async *run(history: ChatTurn[], ctx: AgentContext): AsyncGenerator<AgentEvent> {
    const messages: WireMessage[] = [{ role: 'system', content: this.o.systemPrompt ?? DEFAULT_SYSTEM_PROMPT }];
    for (const t of history) if (t.role === 'user' || t.role === 'assistant') messages.push({ role: t.role, content: t.content });
    const question = [...history].reverse().find((t) => t.role === 'user')?.content ?? '';
    const tools = this.tools;
    const usage = { prompt_tokens: 0, completion_tokens: 0 };
    let allCached = true;

    for (let step = 1; step <= this.o.maxSteps; step++) {
      const last = step === this.o.maxSteps;
      const body: Record<string, unknown> = {
        model: this.o.model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(tools.length > 0 ? { tools, tool_choice: last ? 'none' : 'auto' } : {}),
      };
      let text = '';
      let reasoning = '';
      let calls: ToolCallRequest[] = [];
      let stepUsage: { prompt_tokens: number; completion_tokens: number } | undefined;
      let cached = false;
      const t0 = performance.now();
      let outcome = 'ok';
      try {
        const real = () => chatCall(body, this.o, ctx.signal);
        const call = this.o.cache
          ? await this.o.cache.call({ model: this.o.model, provider: this.name, endpoint: this.o.baseUrl, body, queryText: question }, real, ctx.signal)
          : { result: 'bypass', events: real() };
        cached = call.result === 'hit';
        const events = call.events;
        // The answer's text goes to the run straight from the body's pieces while this loop
        // waits; what the run does not take comes round the loop.
        if (isPushing(events) && ctx.delta) {
          events.sink = (ev) => {
            if (ev.type !== 'text' || ctx.signal.aborted || !ctx.delta!(ev.text)) return false;
            text += ev.text;
            return true;
          };
        }
        for await (const ev of events) {
          if (ctx.signal.aborted) return;
          switch (ev.type) {
            case 'reasoning':
              reasoning += ev.text;
              yield { type: 'thinking', step, text: ev.text };
              break;
            case 'text':
              text += ev.text;
              if (!ctx.delta?.(ev.text)) yield { type: 'delta', text: ev.text };
              break;
            case 'tool_calls':
              calls = ev.calls;
              break;
            case 'usage':
              stepUsage = { prompt_tokens: ev.prompt_tokens, completion_tokens: ev.completion_tokens };
              break;
          }
        }
      } catch (err) {
        outcome = err instanceof CancelledError ? 'cancelled' : ((err as Partial<LlmError>).code ?? 'error');
        if (err instanceof CancelledError) return;
        throw err;
      } finally {
        if (!cached) this.o.metrics?.llmRequestDuration.observe({ provider: this.name, outcome }, (performance.now() - t0) / 1000);
      }
      if (ctx.signal.aborted) return;
      // Servers that do not report usage get an estimate, so the run still says roughly what it cost.
      const u = stepUsage ?? { prompt_tokens: estimateTokens(JSON.stringify(messages)), completion_tokens: estimateTokens(`${reasoning} ${text}`) };
      usage.prompt_tokens += u.prompt_tokens;
      usage.completion_tokens += u.completion_tokens;
      if (cached) this.o.metrics?.llmTokens.inc({ kind: 'saved' }, u.prompt_tokens + u.completion_tokens);
      else {
        this.o.metrics?.llmTokens.inc({ kind: 'prompt' }, u.prompt_tokens);
        this.o.metrics?.llmTokens.inc({ kind: 'completion' }, u.completion_tokens);
      }
      allCached &&= cached;

      if (calls.length === 0 || last) break;
      messages.push({
        role: 'assistant',
        content: text === '' ? null : text,
        tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      });
      const parsed = calls.map((c) => ({ call: c, args: parseArguments(c.arguments) }));
      for (const p of parsed) yield { type: 'tool_call', id: p.call.id, name: p.call.name, arguments: p.args.ok ? p.args.value : { _raw: p.call.arguments } };
      // Parallel tool calls run concurrently; results are reported in the model's order.
      const outcomes = await Promise.all(parsed.map((p) => p.args.ok
        ? runApprovedTool(p.call.id, p.call.name, p.args.value, ctx, this.o.tools)
        : Promise.resolve({ status: 'failed' as const, error: `invalid arguments for ${p.call.name}: ${p.args.error}`, duration_ms: 0 })));
      if (ctx.signal.aborted) return;
      for (const [i, out] of outcomes.entries()) {
        const id = parsed[i]!.call.id;
        yield { type: 'tool_result', id, ...out };
        const content = JSON.stringify(out.status === 'succeeded' ? out.result ?? null : { error: out.error });
        messages.push({ role: 'tool', tool_call_id: id, content: content.length > MAX_TOOL_RESULT_CHARS ? `${content.slice(0, MAX_TOOL_RESULT_CHARS)}…` : content });
      }
    }
    yield { type: 'usage', ...usage, cached: allCached };
  }
}

function parseArguments(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { ok: true, value: v as Record<string, unknown> };
    return { ok: false, error: 'not a JSON object' };
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
}
