// Agent runs belong to the conversation, not the socket: a run started by a message goes
// on when its sender disconnects. Each step is checkpointed, each tool call stored, and
// the answer's text is appended as it streams (all runs of the process flushed together
// every FLUSH_MS by the AnswerWriter), and the answer ends as complete, cancelled,
// interrupted (shutdown) or failed, its full text written once.
import { randomUUID } from 'node:crypto';
import { AgentFailure, type Agent, type AgentEvent } from './agent.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ServerFrame } from '../protocol/frames.js';
import { wireMessage, type Message } from './message.js';
import { AnswerWriter } from './answer-writer.js';
import type { ToolGate } from './approvals.js';
import type { Bus } from './bus.js';
import type { Hub } from './hub.js';
import { endFrame, type RunEnd } from './run-frames.js';
import type { FinalCheckpoint, FinishStatus, RunStore, StoredEnd } from './run-store.js';
import { TurnTokens } from './turn-tokens.js';
import { isUuid, stableUuid } from './stable-uuid.js';

type EndReason = 'cancelled' | 'shutdown';

export interface LocalRun {
  runId: string;
  conv: string;
  messageId: string;
  seq: number;
  content: string;
  controller: AbortController;
}

// Abort reasons that end a run as interrupted: our shutdown, or another replica having
// already marked the answer interrupted (abandon).
const interruptedBy = (reason: unknown) => reason === 'shutdown' || reason === 'abandoned';

// At most this much of a streaming answer is lost when its server dies.
export const FLUSH_MS = 250;
const FINISH_RETRY_MAX_MS = 5000;

export class RunManager {
  private readonly runs = new Map<string, LocalRun>();
  // runs whose agent is done and whose end is being stored: their text is final, and their
  // terminal frame has not left yet, so a snapshot of them still precedes it
  private readonly ending = new Map<string, LocalRun>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;
  private readonly writer: AnswerWriter;
  private readonly tokens: TurnTokens;

  constructor(private readonly d: { store: RunStore; agent: Agent; bus: Bus; hub: Hub; log: Logger; metrics: Metrics; approvals?: ToolGate; flushMs?: number }) {
    this.writer = new AnswerWriter(d.store, d.flushMs ?? FLUSH_MS, d.log);
    this.tokens = new TurnTokens((ev) => d.bus.publish(ev));
    d.hub.onSnapshotRequest((ev) => {
      const run = this.runs.get(ev.run_id) ?? this.ending.get(ev.run_id);
      if (run) this.publish(run.conv, this.snapshot(run), ev.session === '*' ? undefined : ev.session);
    });
    // Our bus link is back and what we published meanwhile may be lost: each answer of ours
    // not yet ended goes out whole, ahead of its next token, so watchers continue from it.
    d.bus.onLinkRestored?.(() => {
      for (const run of [...this.runs.values(), ...this.ending.values()]) this.publish(run.conv, this.snapshot(run));
    });
    // A cancel names its conversation; a run of another conversation is never stopped by
    // it, whatever the sender checked (another user's run included).
    d.hub.onCancel((ev) => this.ownRun(ev.conv, ev.run_id)?.controller.abort('cancelled'));
  }

  localRun(conv: string): LocalRun | undefined {
    for (const r of this.runs.values()) if (r.conv === conv) return r;
    return undefined;
  }

  isLocal(runId: string): boolean {
    return this.runs.has(runId);
  }

  snapshot(r: LocalRun): ServerFrame {
    return { type: 'run.snapshot', run_id: r.runId, message_id: r.messageId, seq: r.seq, content: r.content, offset: r.content.length };
  }

  // Runs of one conversation execute one after another, in message order.
  // triggerSeq: the user message that asked; searches look only before it.
  // onStart: told the run id before the run's first frame (a UI stream follows that run).
  submit(conv: string, userId: string, triggerSeq: number, onStart?: (runId: string | undefined) => void): void {
    const prev = this.chains.get(conv) ?? Promise.resolve();
    const next = prev.then(() => this.execute(conv, userId, triggerSeq, onStart)).finally(() => onStart?.(undefined)).catch((err: unknown) => this.d.log.error({ conv, ...errInfo(err) }, 'run crashed'));
    this.chains.set(conv, next);
    this.pending.add(next);
    void next.finally(() => {
      this.pending.delete(next);
      if (this.chains.get(conv) === next) this.chains.delete(conv);
    });
  }

  // Cancels a local run, or asks the replica that owns it.
  cancel(conv: string, runId: string): void {
    if (this.runs.has(runId)) this.ownRun(conv, runId)?.controller.abort('cancelled');
    else this.d.bus.publish({ kind: 'cancel', conv, run_id: runId });
  }

  private ownRun(conv: string, runId: string): LocalRun | undefined {
    const run = this.runs.get(runId);
    return run?.conv === conv ? run : undefined;
  }

  // SIGTERM: stop every local run, store its partial answer as interrupted, tell clients.
  async shutdown(): Promise<void> {
    // Runs queued behind the active ones must not start while we drain; their messages
    // are stored and acknowledged, and the client sees no run.started for them.
    this.stopping = true;
    for (const r of this.runs.values()) r.controller.abort('shutdown');
    await Promise.allSettled([...this.pending]);
  }

  // Answers of the runs in flight here, to check against the rows after the runner lock
  // was lost and taken again.
  localAnswers(): string[] {
    return [...this.runs.values()].map((r) => r.messageId);
  }

  // Another replica ended these answers while our lock was lost: stop their runs at once;
  // each finishes against the stored row and tells clients what it holds.
  abandon(messageIds: Iterable<string>): void {
    const gone = new Set(messageIds);
    for (const r of this.runs.values()) if (gone.has(r.messageId)) r.controller.abort('abandoned');
  }

  // Every frame but a token goes out after the tokens still pending, so a run's frames keep
  // their order (and a snapshot never precedes text it already holds).
  private publish(conv: string, frame: ServerFrame, only?: string): void {
    this.tokens.flush();
    this.d.bus.publish({ kind: 'frame', conv, frame, ...(only ? { only } : {}) });
  }

  private async execute(conv: string, userId: string, triggerSeq: number, onStart?: (runId: string) => void): Promise<void> {
    const { store, metrics, log } = this.d;
    if (this.stopping) return;
    const started = performance.now();
    const runId = randomUUID();
    onStart?.(runId);
    const answer = await this.startStored(conv, runId, triggerSeq, { agent: this.d.agent.name, user_id: userId });
    if (answer === undefined) return; // the conversation was deleted meanwhile, or the message was answered
    const run: LocalRun = { runId, conv, messageId: answer.id, seq: answer.seq, content: '', controller: new AbortController() };
    this.runs.set(runId, run);
    // Cancels and snapshot requests for this run arrive on the conversation's events.
    const unwatch = this.d.bus.watch(conv);
    this.publish(conv, { type: 'message', message: wireMessage(answer) });
    this.publish(conv, { type: 'run.started', run_id: runId, message_id: answer.id, seq: answer.seq, agent: this.d.agent.name });

    let step = 1; // 0 is 'started', stored with the answer's row
    const checkpoint = (kind: string, state: Record<string, unknown>) =>
      store.checkpoint({ runId, conversationId: conv, messageId: answer.id, step: step++, kind, state });
    const save = this.writer.track(run);
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    let cached = false;
    let failure: RunEnd['failure'];
    let outcome: 'complete' | 'failed' | EndReason = 'complete';
    let thinking: { step: number; text: string } | undefined;
    const endThinking = async () => {
      if (thinking) await checkpoint('thinking', { step: thinking.step, text: thinking.text });
      thinking = undefined;
    };
    const delta = (text: string) => {
      if (run.content === '') metrics.agentFirstToken.observe((performance.now() - started) / 1000);
      const offset = run.content.length;
      run.content += text;
      save(text);
      this.tokens.add(runId, { kind: 'frame', conv, frame: { type: 'response.delta', run_id: runId, message_id: answer.id, offset, delta: text } });
    };

    try {
      const history = await store.recentTurns(conv, 40);
      const signal = run.controller.signal;
      const events = this.d.agent.run(history, {
        conversationId: conv, userId, runId, signal, now: () => new Date(),
        searchConversation: (q, limit) => store.search(conv, q, limit, triggerSeq),
        // a pending thinking step is stored first, so that delta goes the awaited way
        delta: (text) => {
          if (thinking) return false;
          if (!signal.aborted) delta(text);
          return true;
        },
        ...(this.d.approvals ? { approveTool: (call: Parameters<ToolGate['gate']>[1]) => this.d.approvals!.gate({ conv, runId, userId, toolCallId: toolId(call.id, runId) }, call, signal) } : {}),
      });
      for await (const ev of events as AsyncIterable<AgentEvent>) {
        if (signal.aborted) break;
        switch (ev.type) {
          case 'thinking':
            if (thinking?.step !== ev.step) {
              await endThinking();
              thinking = { step: ev.step, text: '' };
            }
            thinking!.text += ev.text;
            this.tokens.add(runId, { kind: 'frame', conv, frame: { type: 'agent.thinking', run_id: runId, step: ev.step, text: ev.text } });
            break;
          case 'tool_call':
            await endThinking();
            await store.toolCall({ id: toolId(ev.id, runId), runId, conversationId: conv, messageId: answer.id, name: ev.name, arguments: ev.arguments });
            await checkpoint('tool_call', { tool_call_id: ev.id, name: ev.name, arguments: ev.arguments });
            this.publish(conv, { type: 'tool.call', run_id: runId, tool_call_id: ev.id, name: ev.name, arguments: ev.arguments });
            break;
          case 'tool_result':
            await store.toolResult({ id: toolId(ev.id, runId), status: ev.status, result: ev.result, error: ev.error ?? null, durationMs: ev.duration_ms });
            await checkpoint('tool_result', { tool_call_id: ev.id, status: ev.status, result: ev.result ?? null, error: ev.error ?? null });
            this.publish(conv, { type: 'tool.result', run_id: runId, tool_call_id: ev.id, status: ev.status, ...(ev.result !== undefined ? { result: ev.result } : {}), ...(ev.error !== undefined ? { error: ev.error } : {}), duration_ms: ev.duration_ms });
            break;
          case 'delta':
            // not an await per token: only the first delta after thinking has one to store
            if (thinking) await endThinking();
            delta(ev.text);
            break;
          case 'usage':
            usage = { prompt_tokens: ev.prompt_tokens, completion_tokens: ev.completion_tokens };
            cached = ev.cached === true;
            break;
        }
      }
      await endThinking();
      if (signal.aborted) outcome = interruptedBy(signal.reason) ? 'shutdown' : 'cancelled';
    } catch (err) {
      outcome = run.controller.signal.aborted ? (interruptedBy(run.controller.signal.reason) ? 'shutdown' : 'cancelled') : 'failed';
      if (outcome === 'failed' && err instanceof AgentFailure) {
        failure = { code: err.code, message: err.message };
        log.warn({ run: runId, code: err.code, err_message: err.message }, 'agent run failed');
      } else if (outcome === 'failed') log.error({ run: runId, ...errInfo(err) }, 'agent run failed');
    } finally {
      this.runs.delete(runId);
      this.ending.set(runId, run);
      unwatch();
    }
    try {
      await this.writer.release(run);
      await this.finalize(run, outcome, { usage, cached, failure }, step++);
    } finally {
      this.ending.delete(runId);
    }
    metrics.agentRunDuration.observe({ outcome: outcome === 'shutdown' ? 'interrupted' : outcome }, (performance.now() - started) / 1000);
  }

  private async finalize(
    run: LocalRun, outcome: 'complete' | 'failed' | EndReason,
    end: RunEnd,
    lastStep: number,
  ): Promise<void> {
    const { usage, cached, failure } = end;
    const status = outcome === 'shutdown' ? 'interrupted' : outcome;
    const failed = status === 'failed' && failure ? { error: failure.code } : {};
    const stored = await this.finishStored(run, status, { agent: this.d.agent.name, usage, cached, ...failed },
      { runId: run.runId, conversationId: run.conv, step: lastStep, state: { length: run.content.length, usage, cached, ...failed } });
    // Another replica ended the row (it took our runner lock while our connection was
    // gone), or our own earlier attempt did and its reply was lost: clients get what is stored.
    if (!stored.changed) this.d.log.warn({ run: run.runId, stored: stored.status }, 'answer had already ended; reporting the stored row');
    this.publish(run.conv, endFrame(run, status, stored, end));
  }

  // The answer's row waits out a database outage too. An insert whose reply was lost may
  // have committed: the retry finds that row rather than add a second one, so no row is
  // left streaming without a run (its runner is alive: no sweep would ever end it).
  private startStored(conv: string, runId: string, replyTo: number, started: Record<string, unknown>): Promise<Message | undefined> {
    return this.untilStored('the start', runId, (attempt) => this.d.store.insertAnswer(conv, runId, { retry: attempt > 0, replyTo, started }));
  }

  // The terminal update waits out a database outage: clients hear the end only once it
  // is stored.
  private finishStored(run: LocalRun, status: FinishStatus, metadata: Record<string, unknown>, last: FinalCheckpoint): Promise<StoredEnd> {
    return this.untilStored('the end', run.runId, () => this.d.store.finish(run.messageId, run.content, status, metadata, last));
  }

  // Retried with backoff until it lands; while draining, a few times only.
  private async untilStored<T>(what: string, runId: string, write: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write(attempt);
      } catch (err) {
        if (this.stopping && attempt >= 3) throw err;
        this.d.log.warn({ run: runId, attempt, ...errInfo(err) }, `storing ${what} of an answer failed; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(FINISH_RETRY_MAX_MS, 250 * 2 ** attempt)));
      }
    }
  }
}

// Agents name their tool calls per run ("call_1"); rows need ids unique across runs,
// and stable so a retried write hits the same row.
export function toolId(agentId: string, runId: string): string {
  return isUuid(agentId) ? agentId : stableUuid(`${runId}:${agentId}`);
}
