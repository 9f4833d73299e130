// The client's copy of the conversation: stored messages keyed by seq (so replays never
// duplicate), sent messages waiting for their ack, and the streamed answer text merged
// by offset from run.snapshot and response.delta frames, so text is never repeated or
// lost whatever order they arrive in.
import type { Frame } from './types.js';
import type { ChatMessage, RunDetails, ToolCall, WireMessage } from './types.js';

interface Entry {
  msg: ChatMessage;
  // deltas that arrived ahead of the text before them, by offset
  ahead: Map<number, string>;
  // false when the stream ended with text missing: resume must replay this message
  trusted: boolean;
}

export interface Appended {
  entry: ChatMessage;
  offset: number;
  text: string;
}

const FINAL = new Set(['complete', 'cancelled', 'interrupted', 'failed']);

export function copyMessage(m: ChatMessage): ChatMessage {
  return { ...m, ...(m.run ? { run: { ...m.run, thinking: m.run.thinking.map((t) => ({ ...t })), tools: m.run.tools.map((t) => ({ ...t })) } } : {}) };
}

export class Transcript {
  private readonly bySeq = new Map<number, Entry>();
  private readonly byId = new Map<string, Entry>();
  private readonly byClientId = new Map<string, Entry>();
  private readonly byRun = new Map<string, Entry>();
  private readonly runs = new Map<string, RunDetails>();
  private readonly unsent: Entry[] = []; // local messages without a seq, in send order
  private base = 0;

  constructor(private readonly changed: (m: ChatMessage) => void) {}

  // Stored messages in seq order, then sent ones still waiting for their ack.
  list(): ChatMessage[] {
    const stored = [...this.bySeq.values()].sort((a, b) => a.msg.seq! - b.msg.seq!);
    return [...stored, ...this.unsent].map((e) => copyMessage(e.msg));
  }

  // Everything up to here is known and final; a reconnect asks the server for the rest.
  resumeSeq(): number {
    let s = this.base;
    for (;;) {
      const e = this.bySeq.get(s + 1);
      if (!e || !FINAL.has(e.msg.status) || !e.trusted) return s;
      s++;
    }
  }

  // The server will not replay before this seq (first join without history, or resync).
  setBase(seq: number): void {
    this.base = Math.max(this.base, seq);
  }

  addPending(clientMsgId: string, content: string, userId: string | null): ChatMessage {
    const e: Entry = {
      msg: { id: undefined, seq: undefined, role: 'user', status: 'pending', content, clientMsgId, runId: null, userId, createdAt: new Date().toISOString() },
      ahead: new Map(), trusted: true,
    };
    this.byClientId.set(clientMsgId, e);
    this.unsent.push(e);
    this.changed(copyMessage(e.msg));
    return copyMessage(e.msg);
  }

  // A replayed or live stored message. A final status carries the stored text, which
  // wins over whatever was streamed (after a crash it may be shorter). Text it adds to
  // an answer seen streaming is reported like a delta.
  stored(m: WireMessage): { message: ChatMessage; appended?: Appended } {
    let e = this.bySeq.get(m.seq) ?? this.byId.get(m.id) ?? (m.client_msg_id ? this.byClientId.get(m.client_msg_id) : undefined);
    let before: string | undefined;
    if (!e) {
      e = {
        msg: { id: m.id, seq: m.seq, role: m.role, status: m.status, content: m.content, clientMsgId: m.client_msg_id, runId: m.run_id, userId: m.user_id, createdAt: m.created_at },
        ahead: new Map(), trusted: true,
      };
    } else if (FINAL.has(m.status)) {
      if (e.msg.status === 'streaming') before = e.msg.content;
      Object.assign(e.msg, { status: m.status, content: m.content, createdAt: m.created_at });
      e.ahead.clear();
      e.trusted = true;
    } else if (!FINAL.has(e.msg.status) && m.content.length > e.msg.content.length) {
      before = e.msg.content;
      e.msg.content = m.content; // a newer partial text than the one streamed so far
      e.msg.status = m.status;
      this.drain(e);
    }
    Object.assign(e.msg, { id: m.id, seq: m.seq, runId: m.run_id ?? e.msg.runId, userId: m.user_id ?? e.msg.userId });
    this.index(e);
    if (before !== undefined) {
      const appended = this.report(e, before, true);
      return { message: copyMessage(e.msg), ...(appended ? { appended } : {}) };
    }
    this.changed(copyMessage(e.msg));
    return { message: copyMessage(e.msg) };
  }

  ack(a: Frame<'ack'>): ChatMessage | undefined {
    const e = this.byClientId.get(a.client_msg_id);
    if (!e) return undefined;
    e.msg.id = a.message_id;
    e.msg.seq = a.seq;
    if (e.msg.status === 'pending') e.msg.status = 'complete';
    this.index(e);
    this.changed(copyMessage(e.msg));
    return copyMessage(e.msg);
  }

  runStarted(f: Frame<'run.started'>): void {
    this.run(f.run_id).agent = f.agent;
    this.answer(f.message_id, f.seq, f.run_id);
  }

  thinking(f: Frame<'agent.thinking'>): void {
    const run = this.run(f.run_id);
    const step = run.thinking.find((t) => t.step === f.step);
    if (step) step.text += f.text;
    else run.thinking.push({ step: f.step, text: f.text });
    this.touchRun(f.run_id);
  }

  toolCall(f: Frame<'tool.call'>): ToolCall {
    const run = this.run(f.run_id);
    let t = run.tools.find((x) => x.toolCallId === f.tool_call_id);
    if (!t) run.tools.push((t = { runId: f.run_id, toolCallId: f.tool_call_id, name: f.name, arguments: f.arguments, status: 'running' }));
    this.touchRun(f.run_id);
    return { ...t };
  }

  approval(f: Frame<'tool.approval_request'> | Frame<'tool.approval_result'>): ToolCall {
    const run = this.run(f.run_id);
    let t = run.tools.find((x) => x.toolCallId === f.tool_call_id);
    if (!t) run.tools.push((t = { runId: f.run_id, toolCallId: f.tool_call_id, name: f.type === 'tool.approval_request' ? f.name : '', arguments: f.type === 'tool.approval_request' ? f.arguments : {}, status: 'running' }));
    t.approval = f.type === 'tool.approval_request'
      ? { id: f.approval_id, state: 'pending', expiresAt: f.expires_at }
      : { id: f.approval_id, state: f.decision, reason: f.reason, decidedBy: f.decided_by };
    this.touchRun(f.run_id);
    return { ...t, approval: { ...t.approval } };
  }

  toolResult(f: Frame<'tool.result'>): ToolCall {
    const run = this.run(f.run_id);
    let t = run.tools.find((x) => x.toolCallId === f.tool_call_id);
    if (!t) run.tools.push((t = { runId: f.run_id, toolCallId: f.tool_call_id, name: '', arguments: {}, status: f.status }));
    Object.assign(t, { status: f.status, durationMs: f.duration_ms }, f.result !== undefined ? { result: f.result } : {}, f.error !== undefined ? { error: f.error } : {});
    this.touchRun(f.run_id);
    return { ...t };
  }

  // The whole text so far: replaces ours when it is at least as long.
  snapshot(f: Frame<'run.snapshot'>): Appended | undefined {
    const e = this.answer(f.message_id, f.seq, f.run_id);
    if (FINAL.has(e.msg.status)) return undefined;
    const before = e.msg.content;
    if (f.content.length >= before.length) e.msg.content = f.content;
    this.drain(e);
    return this.report(e, before);
  }

  delta(f: Frame<'response.delta'>): Appended | undefined {
    const e = this.answer(f.message_id, undefined, f.run_id);
    if (FINAL.has(e.msg.status)) return undefined;
    const before = e.msg.content;
    this.apply(e, f.offset, f.delta);
    this.drain(e);
    return this.report(e, before);
  }

  completed(f: Frame<'response.completed'>): Appended | undefined {
    const e = this.answer(f.message_id, f.seq, f.run_id);
    const before = e.msg.content;
    Object.assign(e.msg, { content: f.content, status: 'complete' });
    e.ahead.clear();
    e.trusted = true;
    Object.assign(this.run(f.run_id), { usage: f.usage, cached: f.cached });
    return this.report(e, before, true);
  }

  failed(f: Frame<'run.failed'>): ChatMessage {
    const e = this.answer(f.message_id, undefined, f.run_id);
    // A model's failure code (say llm_timeout) is the reason; the row's status is `failed`.
    e.msg.status = FINAL.has(f.code) ? f.code : 'failed';
    if (f.content !== undefined) {
      // the stored answer, which wins over whatever the deltas built
      e.msg.content = f.content;
      e.ahead.clear();
    }
    // text missing in the middle: only the stored row is right, so resume replays it
    e.trusted = e.ahead.size === 0;
    this.run(f.run_id).failure = { code: f.code, message: f.message };
    this.changed(copyMessage(e.msg));
    return copyMessage(e.msg);
  }

  private apply(e: Entry, offset: number, text: string): void {
    const len = e.msg.content.length;
    if (offset > len) {
      e.ahead.set(offset, text); // a gap: wait for the text before it
      return;
    }
    if (offset + text.length > len) e.msg.content = e.msg.content.slice(0, offset) + text;
  }

  private drain(e: Entry): void {
    for (let progressed = true; progressed && e.ahead.size > 0;) {
      progressed = false;
      for (const [offset, text] of e.ahead) {
        if (offset > e.msg.content.length) continue;
        e.ahead.delete(offset);
        this.apply(e, offset, text);
        progressed = true;
      }
    }
  }

  private report(e: Entry, before: string, always = false): Appended | undefined {
    const now = e.msg.content;
    if (now === before && !always) return undefined;
    this.changed(copyMessage(e.msg));
    // a text that does not extend ours replaced it: there is no delta to show, only the change
    return now.startsWith(before) && now.length > before.length ? { entry: copyMessage(e.msg), offset: before.length, text: now.slice(before.length) } : undefined;
  }

  // The answer message a run frame refers to, created when the frame beats the message.
  private answer(messageId: string, seq: number | undefined, runId: string): Entry {
    let e = this.byId.get(messageId) ?? (seq !== undefined ? this.bySeq.get(seq) : undefined);
    if (!e) {
      e = {
        msg: { id: messageId, seq, role: 'assistant', status: 'streaming', content: '', clientMsgId: null, runId, userId: null, createdAt: new Date().toISOString() },
        ahead: new Map(), trusted: true,
      };
    }
    if (seq !== undefined) e.msg.seq = seq;
    e.msg.runId ??= runId;
    this.index(e);
    return e;
  }

  private run(runId: string): RunDetails {
    let r = this.runs.get(runId);
    if (!r) this.runs.set(runId, (r = { runId, thinking: [], tools: [] }));
    return r;
  }

  private touchRun(runId: string): void {
    const e = this.byRun.get(runId);
    if (e) this.changed(copyMessage(e.msg));
  }

  private index(e: Entry): void {
    const m = e.msg;
    if (m.seq !== undefined) {
      this.bySeq.set(m.seq, e);
      const i = this.unsent.indexOf(e);
      if (i >= 0) this.unsent.splice(i, 1);
    }
    if (m.id !== undefined) this.byId.set(m.id, e);
    if (m.clientMsgId) this.byClientId.set(m.clientMsgId, e);
    if (m.runId) {
      this.byRun.set(m.runId, e);
      m.run = this.run(m.runId);
    }
  }
}
