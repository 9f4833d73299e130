// Our run events as parts of the AI SDK UI message stream protocol (v1): what `useChat`
// reads from server-sent events. One mapper per HTTP stream, fed the frames of one run in
// bus order. It guarantees the answer text exactly once: every part carries the text
// offset reached, deltas already covered by a snapshot are trimmed, and the terminal
// frames (which carry or point at the stored text) fill whatever the stream had not seen.
import type { ServerFrame } from '../protocol/frames.js';
import { toolId } from './runs.js';

export type UiChunk =
  | { type: 'start'; messageId: string; messageMetadata?: Record<string, unknown> }
  | { type: 'start-step' }
  | { type: 'finish-step' }
  | { type: 'text-start' | 'text-end' | 'reasoning-start' | 'reasoning-end'; id: string }
  | { type: 'text-delta' | 'reasoning-delta'; id: string; delta: string }
  | { type: 'tool-input-start'; toolCallId: string; toolName: string; dynamic: true }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown; dynamic: true }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string; dynamic: true }
  | { type: 'tool-output-denied'; toolCallId: string }
  | { type: 'finish'; finishReason: 'stop' | 'error' | 'other' }
  | { type: 'abort'; reason?: string }
  | { type: 'error'; errorText: string };

// An SSE event: `id` is `<answer seq>:<text offset>`, so Last-Event-ID names a point in
// the answer text that any replica can resume from.
export interface UiEvent {
  id: string;
  chunk: UiChunk;
}

// A tool call as stored (for replays) or as announced live.
export interface ToolCallState {
  toolCallId: string;
  name: string;
  input: unknown;
  approvalId?: string;
  approval?: 'pending' | 'approved' | 'denied';
  output?: { status: 'succeeded' | 'failed' | 'denied'; result?: unknown; error?: string };
}

type Terminal = 'complete' | 'cancelled' | 'failed';

export class UiStreamMapper {
  private emitted = 0;
  private started = false;
  private stepOpen = false;
  private stepHasTools = false;
  private text: string | undefined;
  private textCount = 0;
  private reasoning: string | undefined;
  private readonly tools = new Map<string, { input: boolean; approval: boolean; output: boolean }>();
  private out: UiEvent[] = [];
  ended: Terminal | undefined;

  constructor(readonly runId: string, readonly messageId: string, readonly seq: number, opts: { skipText?: number; announced?: boolean } = {}) {
    // Last-Event-ID: the client already holds the start and the first skipText characters.
    this.emitted = opts.skipText ?? 0;
    this.started = opts.announced ?? false;
  }

  get offset(): number {
    return this.emitted;
  }

  // The stored text up to `offset` (a snapshot or the stored answer), then whatever follows live.
  base(content: string, offset = content.length): UiEvent[] {
    this.begin();
    this.textTo(content, offset);
    return this.flush();
  }

  // Tool calls already made before this stream joined, in the order they were made.
  replayTools(calls: ToolCallState[]): UiEvent[] {
    this.begin();
    for (const c of calls) {
      this.toolCall(c.toolCallId, c.name, c.input);
      if (c.approvalId !== undefined && c.approval === 'pending') this.approvalRequest(c.toolCallId, c.approvalId);
      if (c.output) this.toolOutput(c.toolCallId, c.output);
    }
    return this.flush();
  }

  frame(f: ServerFrame): UiEvent[] {
    if (this.ended) return [];
    if ('run_id' in f && f.run_id !== this.runId) return [];
    switch (f.type) {
      case 'run.started':
        this.begin();
        break;
      case 'agent.thinking': {
        this.begin();
        this.closeText();
        const id = `reasoning-${f.step}`;
        if (this.reasoning !== id) {
          this.closeReasoning();
          this.push({ type: 'reasoning-start', id });
          this.reasoning = id;
        }
        this.push({ type: 'reasoning-delta', id, delta: f.text });
        break;
      }
      case 'tool.call':
        this.begin();
        this.toolCall(toolId(f.tool_call_id, f.run_id), f.name, f.arguments);
        break;
      case 'tool.approval_request':
        this.approvalRequest(toolId(f.tool_call_id, f.run_id), f.approval_id);
        break;
      case 'tool.approval_result':
        if (f.decision === 'denied') this.toolOutput(toolId(f.tool_call_id, f.run_id), { status: 'denied' });
        break;
      case 'tool.result':
        this.toolOutput(toolId(f.tool_call_id, f.run_id), { status: f.status, ...(f.result !== undefined ? { result: f.result } : {}), ...(f.error !== undefined ? { error: f.error } : {}) });
        break;
      case 'response.delta':
        this.begin();
        // a delta that starts past what was sent is a gap only a snapshot or the end can fill
        if (f.offset <= this.emitted) this.emitText(f.delta.slice(this.emitted - f.offset));
        break;
      case 'run.snapshot':
        if (f.message_id === this.messageId) {
          this.begin();
          this.textTo(f.content, f.offset);
        }
        break;
      case 'response.completed':
        this.begin();
        this.textTo(f.content, f.content.length);
        this.end('complete');
        break;
      default:
        break;
    }
    return this.flush();
  }

  // A stored answer that is no longer streaming: the rest of its text and how it ended.
  stored(status: string, content: string): UiEvent[] {
    if (this.ended) return [];
    this.begin();
    this.textTo(content, content.length);
    if (status === 'complete') this.end('complete');
    else if (status === 'cancelled') this.end('cancelled', 'cancelled by the user; the partial answer was kept');
    else {
      this.closeOpen();
      this.push({ type: 'error', errorText: `${status}: the partial answer was kept` });
      this.ended = 'failed';
    }
    return this.flush();
  }

  // run.failed carries no text: the caller reads the stored answer (written before the
  // frame was published) and hands it in.
  failed(f: Extract<ServerFrame, { type: 'run.failed' }>, stored: string): UiEvent[] {
    if (this.ended || f.run_id !== this.runId) return [];
    this.begin();
    this.textTo(stored, stored.length);
    if (f.code === 'cancelled') this.end('cancelled', f.message);
    else {
      this.closeOpen();
      this.push({ type: 'error', errorText: `${f.code}: ${f.message}` });
      this.ended = 'failed';
    }
    return this.flush();
  }

  private begin(): void {
    if (!this.started) {
      this.started = true;
      this.push({ type: 'start', messageId: this.messageId, messageMetadata: { run_id: this.runId, seq: this.seq } });
    }
    if (!this.stepOpen) {
      this.stepOpen = true;
      this.stepHasTools = false;
      this.push({ type: 'start-step' });
    }
  }

  // The full text up to `to` is known: send the part not sent yet.
  private textTo(content: string, to: number): void {
    if (to > this.emitted) this.emitText(content.slice(this.emitted, to));
  }

  private emitText(piece: string): void {
    if (piece === '') return;
    if (this.stepHasTools && this.text === undefined) this.nextStep();
    this.closeReasoning();
    if (this.text === undefined) {
      this.text = `text-${++this.textCount}`;
      this.push({ type: 'text-start', id: this.text });
    }
    this.emitted += piece.length;
    this.push({ type: 'text-delta', id: this.text, delta: piece });
  }

  private toolCall(id: string, name: string, input: unknown): void {
    const t = this.tool(id);
    if (t.input) return;
    t.input = true;
    this.closeText();
    this.closeReasoning();
    this.stepHasTools = true;
    this.push({ type: 'tool-input-start', toolCallId: id, toolName: name, dynamic: true });
    this.push({ type: 'tool-input-available', toolCallId: id, toolName: name, input, dynamic: true });
  }

  private approvalRequest(toolCallId: string, approvalId: string): void {
    const t = this.tool(toolCallId);
    if (t.approval || !t.input) return;
    t.approval = true;
    this.push({ type: 'tool-approval-request', approvalId, toolCallId });
  }

  private toolOutput(id: string, o: NonNullable<ToolCallState['output']>): void {
    const t = this.tool(id);
    if (t.output || !t.input) return;
    t.output = true;
    if (o.status === 'succeeded') this.push({ type: 'tool-output-available', toolCallId: id, output: o.result ?? null, dynamic: true });
    else if (o.status === 'denied') this.push({ type: 'tool-output-denied', toolCallId: id });
    else this.push({ type: 'tool-output-error', toolCallId: id, errorText: o.error ?? 'the tool failed', dynamic: true });
  }

  private tool(id: string): { input: boolean; approval: boolean; output: boolean } {
    let t = this.tools.get(id);
    if (!t) this.tools.set(id, (t = { input: false, approval: false, output: false }));
    return t;
  }

  private nextStep(): void {
    this.closeOpen();
    this.push({ type: 'finish-step' });
    this.push({ type: 'start-step' });
    this.stepHasTools = false;
  }

  private closeText(): void {
    if (this.text !== undefined) this.push({ type: 'text-end', id: this.text });
    this.text = undefined;
  }

  private closeReasoning(): void {
    if (this.reasoning !== undefined) this.push({ type: 'reasoning-end', id: this.reasoning });
    this.reasoning = undefined;
  }

  private closeOpen(): void {
    this.closeText();
    this.closeReasoning();
  }

  private end(how: 'complete' | 'cancelled', reason?: string): void {
    this.closeOpen();
    if (this.stepOpen) this.push({ type: 'finish-step' });
    this.stepOpen = false;
    this.push(how === 'complete' ? { type: 'finish', finishReason: 'stop' } : { type: 'abort', ...(reason ? { reason } : {}) });
    this.ended = how;
  }

  private push(chunk: UiChunk): void {
    this.out.push({ id: `${this.seq}:${this.emitted}`, chunk });
  }

  private flush(): UiEvent[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

// `<seq>:<offset>` from a Last-Event-ID header; anything else is ignored (a fresh resume).
export function parseEventId(v: string | undefined): { seq: number; offset: number } | undefined {
  const m = /^(\d{1,15}):(\d{1,12})$/.exec(v ?? '');
  return m ? { seq: Number(m[1]), offset: Number(m[2]) } : undefined;
}
