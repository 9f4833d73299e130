// Renders the conversation: user and assistant messages, the assistant's thinking and
// tool calls in a collapsible block that is open while they stream, the answer text
// growing token by token, and what happened when an answer did not complete.
import type { ChatMessage, ToolCall } from '../client/index.js';
import { h } from './dom.js';

const ENDINGS: Record<string, string> = {
  interrupted: 'Interrupted: the server restarted before the answer was finished; the part written so far was kept.',
  cancelled: 'Stopped: the answer was cancelled; the part written so far was kept.',
  failed: 'Failed: the assistant ran into an error; the part written so far was kept.',
};

function json(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? '' : s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

export type OnApproval = (approvalId: string, approved: boolean) => void;

function tool(t: ToolCall, onApproval: OnApproval): HTMLElement {
  const pending = t.approval?.state === 'pending';
  const outcome = pending ? 'waiting for your approval'
    : t.status === 'running' ? 'running…'
    : t.status === 'failed' || t.status === 'denied' ? `${t.status}: ${t.error ?? 'error'}`
    : `→ ${json(t.result)}`;
  const buttons = pending ? [true, false].map((ok) => {
    const b = h('button', { class: ok ? 'approve' : 'deny', type: 'button', 'data-approval': t.approval!.id }, ok ? 'Approve' : 'Deny');
    b.addEventListener('click', () => onApproval(t.approval!.id, ok));
    return b;
  }) : [];
  return h('div', { class: `tool ${t.status}`, 'data-tool': t.name, 'data-approval-state': t.approval?.state ?? '' },
    h('span', { class: 'tool-name' }, t.name),
    h('code', {}, json(t.arguments)),
    h('span', { class: 'tool-out' }, outcome),
    ...buttons,
    t.durationMs !== undefined ? h('span', { class: 'tool-ms' }, `${Math.round(t.durationMs)} ms`) : null);
}

export class MessagesView {
  private readonly els = new Map<string, HTMLElement>();
  // blocks of work the user opened or closed by hand keep their state
  private readonly openByUser = new Map<string, boolean>();

  constructor(private readonly root: HTMLElement, private readonly onCancel: (runId: string) => void, private readonly onApproval: OnApproval = () => undefined) {}

  get size(): number {
    return this.els.size;
  }

  clear(): void {
    this.els.clear();
    this.openByUser.clear();
    this.root.replaceChildren();
  }

  render(m: ChatMessage): void {
    const key = m.clientMsgId ?? m.id ?? `seq-${m.seq}`;
    const stick = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
    const el = this.build(m, key);
    const old = this.els.get(key);
    if (old) old.replaceWith(el);
    else this.insert(el, m.seq);
    this.els.set(key, el);
    if (stick) this.root.scrollTop = this.root.scrollHeight;
  }

  private insert(el: HTMLElement, seq: number | undefined): void {
    if (seq !== undefined) {
      for (const other of this.root.children) {
        const s = (other as HTMLElement).dataset.seq;
        if (s === undefined || s === '' || Number(s) > seq) {
          this.root.insertBefore(el, other);
          return;
        }
      }
    }
    this.root.append(el);
  }

  private build(m: ChatMessage, key: string): HTMLElement {
    const streaming = m.status === 'streaming';
    const el = h('article', { class: `msg ${m.role === 'user' ? 'user' : 'assistant'}`, 'data-status': m.status, 'data-seq': m.seq === undefined ? '' : String(m.seq), 'data-key': key });
    if (m.role !== 'user') el.append(this.work(m, key, streaming));
    const text = h('div', { class: `text${streaming ? ' streaming' : ''}` }, m.content);
    if (m.role !== 'user' && streaming && m.content === '') text.append(h('span', { class: 'dots', 'aria-label': 'writing' }, '…'));
    el.append(text);
    const meta: (string | Node)[] = [];
    if (m.status === 'pending') meta.push('sending…');
    if (m.run?.cached) meta.push('from cache');
    if (streaming && m.runId) {
      const runId = m.runId;
      const stop = h('button', { class: 'link', type: 'button' }, 'Stop');
      stop.addEventListener('click', () => this.onCancel(runId));
      meta.push(stop);
    }
    const ending = ENDINGS[m.status];
    if (ending) el.append(h('p', { class: 'ending' }, ending));
    if (meta.length > 0) el.append(h('div', { class: 'meta' }, ...meta));
    return el;
  }

  private work(m: ChatMessage, key: string, streaming: boolean): HTMLElement | string {
    const run = m.run;
    if (!run || (run.thinking.length === 0 && run.tools.length === 0)) return '';
    const n = run.tools.length;
    const summary = `${streaming ? 'Working' : 'Worked'}: ${run.thinking.length} thought${run.thinking.length === 1 ? '' : 's'}${n ? `, ${n} tool call${n === 1 ? '' : 's'}` : ''}`;
    const asking = run.tools.some((t) => t.approval?.state === 'pending');
    const open = asking || (this.openByUser.get(key) ?? streaming); // open while it streams or asks, unless the user chose
    const details = h('details', { class: 'work', open },
      h('summary', {}, summary),
      ...run.thinking.map((t) => h('p', { class: 'thinking' }, t.text)),
      ...run.tools.map((t) => tool(t, this.onApproval)));
    details.addEventListener('toggle', () => {
      if (details.open !== open) this.openByUser.set(key, details.open);
    });
    return details;
  }
}
