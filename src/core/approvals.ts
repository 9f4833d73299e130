// Human-in-the-loop tool approval. A per-tool policy (always, never, ask) decides whether
// a run may call a tool; for `ask` the run stores a pending approval on the tool call's
// row, announces it (tool.approval_request) and waits. The conversation's owner answers
// from any socket or replica (WS approve/deny frames, HTTP); the decision is taken by one
// conditional UPDATE, so a second tab and the timeout can race it and exactly one wins,
// then travels over the bus as tool.approval_result to every replica — including the one
// whose run waits for it.
import { randomUUID } from 'node:crypto';
import type { ToolDecision } from './agent.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import { AppError } from '../protocol/errors.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { Bus } from './bus.js';

export type ToolPolicy = 'always' | 'ask' | 'never';

export interface ApprovalConfig {
  defaultPolicy: ToolPolicy;
  tools: Record<string, ToolPolicy>;
  timeoutMs: number;
}

export interface Approval {
  approval_id: string;
  tool_call_id: string;
  agent_call_id: string;
  run_id: string;
  conversation_id: string;
  name: string;
  arguments: Record<string, unknown>;
  approval: 'pending' | 'approved' | 'denied';
  approval_reason: 'user' | 'timeout' | 'policy' | 'cancelled' | null;
  approval_note: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  approval_expires_at: Date;
  // decide() only: the conversation's owner and where the run's answer stands now
  owner_id?: string;
  answer_status?: string | null;
  answer_seq?: number | null;
}

export interface ApprovalStore {
  request(a: { toolCallId: string; approvalId: string; agentCallId: string; expiresAt: Date }): Promise<void>;
  carryOver(a: { conversationId: string; runId: string; toolCallId: string; approvalId: string; agentCallId: string; name: string; arguments: Record<string, unknown> }): Promise<{ approval: 'approved' | 'denied'; approval_note: string | null; decided_by: string | null; decided_at: Date } | undefined>;
  denyByPolicy(a: { toolCallId: string; approvalId: string; agentCallId: string }): Promise<void>;
  decide(d: { approvalId: string; ownerId: string | null; conversationId?: string; approved: boolean; reason: 'user' | 'timeout' | 'cancelled'; note: string | null }): Promise<Approval | undefined>;
  find(approvalId: string, ownerId: string, conversationId?: string): Promise<Approval | undefined>;
  pending(conversationId: string): Promise<Approval[]>;
  expireOrphaned(): Promise<Approval[]>;
}

// What the run manager hands agents as AgentContext.approveTool.
export interface ToolGate {
  gate(run: { conv: string; runId: string; userId: string; toolCallId: string }, call: { id: string; name: string; arguments: Record<string, unknown> }, signal: AbortSignal): Promise<ToolDecision>;
}

export function parsePolicies(spec: string | undefined): Record<string, ToolPolicy> {
  const out: Record<string, ToolPolicy> = {};
  for (const item of (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z0-9_.-]{1,64})=(always|ask|never)$/.exec(item);
    if (!m) throw new Error(`'${item}': expected tool=always|ask|never`);
    out[m[1]!] = m[2] as ToolPolicy;
  }
  return out;
}

export class Approvals implements ToolGate {
  private readonly waiters = new Map<string, (d: ToolDecision) => void>();
  private continueRun: ((conv: string, userId: string, afterSeq: number) => void) | undefined;

  constructor(private readonly d: { store: ApprovalStore; bus: Bus; cfg: ApprovalConfig; log: Logger }) {
    d.bus.subscribe((ev) => {
      if (ev.kind === 'frame' && ev.frame.type === 'tool.approval_result') this.waiters.get(ev.frame.approval_id)?.(decisionOf(ev.frame));
    });
  }

  // How a decision whose run was interrupted (its replica stopped while it waited) gets
  // acted on: a new run of the conversation, which finds the decision for the same call.
  onOrphanDecision(cont: (conv: string, userId: string, afterSeq: number) => void): void {
    this.continueRun = cont;
  }

  policy(tool: string): ToolPolicy {
    return this.d.cfg.tools[tool] ?? this.d.cfg.defaultPolicy;
  }

  async gate(run: { conv: string; runId: string; userId: string; toolCallId: string }, call: { id: string; name: string; arguments: Record<string, unknown> }, signal: AbortSignal): Promise<ToolDecision> {
    const { store, bus, cfg } = this.d;
    const policy = this.policy(call.name);
    if (policy === 'always') return { approved: true };
    const approvalId = randomUUID();
    if (policy === 'never') {
      await store.denyByPolicy({ toolCallId: run.toolCallId, approvalId, agentCallId: call.id });
      const frame = resultFrame({ run_id: run.runId, agent_call_id: call.id, approval_id: approvalId, approval: 'denied', approval_reason: 'policy', decided_by: null, decided_at: new Date() });
      bus.publish({ kind: 'frame', conv: run.conv, frame });
      return decisionOf(frame);
    }
    const carried = await store.carryOver({ conversationId: run.conv, runId: run.runId, toolCallId: run.toolCallId, approvalId, agentCallId: call.id, name: call.name, arguments: call.arguments });
    if (carried !== undefined) {
      const frame = resultFrame({ run_id: run.runId, agent_call_id: call.id, approval_id: approvalId, approval: carried.approval, approval_reason: 'user', approval_note: carried.approval_note, decided_by: carried.decided_by, decided_at: carried.decided_at });
      bus.publish({ kind: 'frame', conv: run.conv, frame });
      return decisionOf(frame);
    }
    const expiresAt = new Date(Date.now() + cfg.timeoutMs);
    await store.request({ toolCallId: run.toolCallId, approvalId, agentCallId: call.id, expiresAt });
    let settle!: (d: ToolDecision) => void;
    const decided = new Promise<ToolDecision>((resolve) => { settle = resolve; });
    this.waiters.set(approvalId, settle);
    // A stopped run's question is closed; a shutdown's stays pending for the run that continues.
    const stop = () => {
      settle({ approved: false, message: 'the run was stopped' });
      if (signal.reason !== 'shutdown') void this.closeCancelled(approvalId, run.conv);
    };
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(() => void this.expire(approvalId, run.userId).then(settle, (err: unknown) => {
      this.d.log.warn({ approval: approvalId, ...errInfo(err) }, 'expiring a tool approval failed; denying it in this run');
      settle({ approved: false, message: 'the approval could not be recorded' });
    }), cfg.timeoutMs);
    bus.publish({ kind: 'frame', conv: run.conv, frame: {
      type: 'tool.approval_request', run_id: run.runId, tool_call_id: call.id, approval_id: approvalId,
      name: call.name, arguments: call.arguments, expires_at: expiresAt.toISOString(),
    } });
    try {
      return await decided;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      this.waiters.delete(approvalId);
    }
  }

  // The owner's answer, from a socket or HTTP on any replica.
  async decide(userId: string, approvalId: string, approved: boolean, note: string | undefined, conv?: string): Promise<Approval> {
    const row = await this.d.store.decide({ approvalId, ownerId: userId, conversationId: conv, approved, reason: 'user', note: note ?? null });
    if (row === undefined) {
      const seen = await this.d.store.find(approvalId, userId, conv);
      if (seen === undefined) throw new AppError('approval_not_found');
      throw new AppError('conflict', `the approval was already decided: ${seen.approval} (${seen.approval_reason ?? 'policy'}) at ${seen.decided_at?.toISOString() ?? 'an unknown time'}`);
    }
    this.d.bus.publish({ kind: 'frame', conv: row.conversation_id, frame: resultFrame(row) });
    if (row.answer_status === 'interrupted' && row.answer_seq != null && row.owner_id !== undefined) this.continueRun?.(row.conversation_id, row.owner_id, row.answer_seq);
    return row;
  }

  // Every replica runs this periodically: the timeout of approvals whose run is gone.
  async expireOrphaned(): Promise<number> {
    const rows = await this.d.store.expireOrphaned();
    for (const r of rows) this.d.bus.publish({ kind: 'frame', conv: r.conversation_id, frame: resultFrame(r) });
    return rows.length;
  }

  // A timer for expireOrphaned; stop() before the database closes.
  startSweep(): { stop(): void } {
    const every = Math.min(5000, Math.max(250, Math.floor(this.d.cfg.timeoutMs / 4)));
    const timer = setInterval(() => void this.expireOrphaned().catch((err: unknown) => {
      this.d.log.warn({ ...errInfo(err) }, 'expiring orphaned tool approvals failed; retrying');
    }), every);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private async closeCancelled(approvalId: string, conv: string): Promise<void> {
    try {
      const row = await this.d.store.decide({ approvalId, ownerId: null, approved: false, reason: 'cancelled', note: null });
      if (row !== undefined) this.d.bus.publish({ kind: 'frame', conv, frame: resultFrame(row) });
    } catch (err) {
      this.d.log.warn({ approval: approvalId, ...errInfo(err) }, 'closing the approval of a stopped run failed');
    }
  }

  // The approvals still waiting in a conversation, as a joining client must see them. With
  // no tool set to `ask` none can be waiting, and joins skip the query.
  async pendingFrames(conv: string): Promise<ServerFrame[]> {
    const { cfg } = this.d;
    if (cfg.defaultPolicy !== 'ask' && !Object.values(cfg.tools).includes('ask')) return [];
    return (await this.d.store.pending(conv)).map(requestFrame);
  }

  // The timeout denies a pending approval; if a decision won the race (its bus frame
  // possibly lost), the stored decision is the answer.
  private async expire(approvalId: string, ownerId: string): Promise<ToolDecision> {
    const row = await this.d.store.decide({ approvalId, ownerId: null, approved: false, reason: 'timeout', note: null });
    if (row !== undefined) {
      const frame = resultFrame(row);
      this.d.bus.publish({ kind: 'frame', conv: row.conversation_id, frame });
      return decisionOf(frame);
    }
    const seen = await this.d.store.find(approvalId, ownerId);
    return seen?.approval === 'approved' ? { approved: true } : { approved: false, message: messageOf(seen?.approval_reason ?? 'timeout', seen?.approval_note ?? null) };
  }
}

export function requestFrame(a: Approval): ServerFrame {
  return {
    type: 'tool.approval_request', run_id: a.run_id, tool_call_id: a.agent_call_id, approval_id: a.approval_id,
    name: a.name, arguments: a.arguments, expires_at: a.approval_expires_at.toISOString(),
  };
}

function resultFrame(a: Pick<Approval, 'run_id' | 'agent_call_id' | 'approval_id' | 'approval' | 'approval_reason' | 'decided_by' | 'decided_at'> & { approval_note?: string | null }): Extract<ServerFrame, { type: 'tool.approval_result' }> {
  return {
    type: 'tool.approval_result', run_id: a.run_id, tool_call_id: a.agent_call_id, approval_id: a.approval_id,
    decision: a.approval === 'approved' ? 'approved' : 'denied', reason: a.approval_reason ?? 'policy',
    decided_by: a.decided_by, decided_at: (a.decided_at ?? new Date()).toISOString(),
    ...(a.approval_note ? { note: a.approval_note } : {}),
  };
}

function decisionOf(f: Extract<ServerFrame, { type: 'tool.approval_result' }>): ToolDecision {
  return f.decision === 'approved' ? { approved: true } : { approved: false, message: messageOf(f.reason, f.note ?? null) };
}

function messageOf(reason: 'user' | 'timeout' | 'policy' | 'cancelled', note: string | null): string {
  if (reason === 'timeout') return 'not approved in time';
  if (reason === 'cancelled') return 'the run was stopped';
  if (reason === 'policy') return 'not allowed by the tool policy';
  return note ? `denied by the user (${note})` : 'denied by the user';
}
