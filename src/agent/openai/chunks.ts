// Turns the JSON payloads of a chat-completions stream into model events. Text arrives in
// choices[0].delta.content; reasoning in delta.reasoning_content (vLLM, DeepSeek, llama.cpp) or
// delta.reasoning (Ollama, OpenRouter); tool calls arrive as fragments keyed by `index`, the id and
// name in the first fragment and the JSON arguments spread over many; usage in a final chunk
// with empty choices (stream_options.include_usage).
import { LlmError } from './errors.js';

export interface ToolCallRequest {
  id: string;
  name: string;
  // the raw JSON text, parsed by the agent (a model can emit invalid JSON; that is the tool's failure, not the run's)
  arguments: string;
}

export type ModelEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  | { type: 'tool_calls'; calls: ToolCallRequest[] }
  | { type: 'usage'; prompt_tokens: number; completion_tokens: number };

interface ChunkJson {
  error?: { message?: unknown } | string;
  choices?: {
    index?: number;
    delta?: {
      content?: unknown;
      reasoning_content?: unknown;
      reasoning?: unknown;
      tool_calls?: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
    };
    finish_reason?: unknown;
  }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
}

const MAX_TOOL_CALLS = 16;

export class ChunkDecoder {
  private readonly calls = new Map<number, ToolCallRequest>();
  private done = false;
  sawData = false;

  get finished(): boolean {
    return this.done;
  }

  // One SSE data payload → the events it carries.
  decode(payload: string): ModelEvent[] {
    if (payload.trim() === '[DONE]') {
      this.done = true;
      return this.flushToolCalls();
    }
    let chunk: ChunkJson;
    try {
      chunk = JSON.parse(payload) as ChunkJson;
    } catch {
      throw new LlmError('llm_bad_response', 'the model server sent a stream chunk that is not JSON');
    }
    if (chunk === null || typeof chunk !== 'object' || Array.isArray(chunk)) {
      throw new LlmError('llm_bad_response', 'the model server sent a stream chunk that is not a JSON object');
    }
    if (chunk.error !== undefined) {
      const m = typeof chunk.error === 'string' ? chunk.error : chunk.error?.message;
      throw new LlmError('llm_bad_response', `the model server reported an error mid-answer: ${typeof m === 'string' ? m.slice(0, 200) : 'no message'}`);
    }
    this.sawData = true;
    const out: ModelEvent[] = [];
    // Only the first choice: we never ask for n > 1.
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c) => (c.index ?? 0) === 0) : undefined;
    const d = choice?.delta;
    if (d) {
      const reasoning = typeof d.reasoning_content === 'string' ? d.reasoning_content : typeof d.reasoning === 'string' ? d.reasoning : '';
      if (reasoning !== '') out.push({ type: 'reasoning', text: reasoning });
      if (typeof d.content === 'string' && d.content !== '') out.push({ type: 'text', text: d.content });
      if (Array.isArray(d.tool_calls)) for (const f of d.tool_calls) this.addFragment(f);
    }
    const u = chunk.usage;
    if (u && typeof u.prompt_tokens === 'number' && typeof u.completion_tokens === 'number') {
      out.push({ type: 'usage', prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens });
    }
    return out;
  }

  // Tool calls complete when the stream ends ([DONE] or the body ends).
  flushToolCalls(): ModelEvent[] {
    if (this.calls.size === 0) return [];
    const calls = [...this.calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    this.calls.clear();
    for (const c of calls) {
      if (c.name === '') throw new LlmError('llm_bad_response', 'the model server sent a tool call without a function name');
    }
    return [{ type: 'tool_calls', calls }];
  }

  private addFragment(f: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }): void {
    const index = typeof f.index === 'number' ? f.index : this.calls.size === 0 ? 0 : Math.max(...this.calls.keys());
    let call = this.calls.get(index);
    if (!call) {
      if (this.calls.size >= MAX_TOOL_CALLS) throw new LlmError('llm_bad_response', `the model asked for more than ${MAX_TOOL_CALLS} tool calls at once`);
      call = { id: '', name: '', arguments: '' };
      this.calls.set(index, call);
    }
    if (typeof f.id === 'string' && f.id !== '') call.id = f.id;
    // The name comes whole in the first fragment; some servers repeat it in every fragment.
    const name = f.function?.name;
    if (typeof name === 'string' && name !== call.name) call.name += name;
    if (typeof f.function?.arguments === 'string') call.arguments += f.function.arguments;
    if (call.id === '') call.id = `call_${index}`;
  }
}
