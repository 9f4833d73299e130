import { describe, expect, it } from 'vitest';
import type { Agent, AgentContext, AgentEvent } from './agent.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics/metrics.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { Message } from './message.js';
import { fakeMessage } from './testing/fakes.js';
import type { AnswerChunk } from './answer-writer.js';
import { LocalBus } from './bus.js';
import { Hub } from './hub.js';
import type { RunStore } from './run-store.js';
import { RunManager } from './runs.js';

// An agent that streams words until told to stop, one per `next()` of the test.
class ScriptedAgent implements Agent {
  readonly name = 'scripted';
  private release: (() => void) | undefined;
  constructor(private readonly words: string[]) {}
  step(): void {
    this.release?.();
  }
  async *run(_h: unknown, ctx: AgentContext): AsyncGenerator<AgentEvent> {
    for (const w of this.words) {
      await new Promise<void>((r) => {
        this.release = r;
        ctx.signal.addEventListener('abort', () => r(), { once: true });
      });
      if (ctx.signal.aborted) return;
      yield { type: 'delta', text: w };
    }
  }
}

class MemoryStore implements RunStore {
  readonly rows = new Map<string, { status: string; content: string }>();
  readonly chunks: AnswerChunk[] = [];
  endedElsewhere = false;
  // the conversation (and so the answer's row) deleted before the end was stored
  deleted = false;
  // inserts that commit and then lose their reply, as when the connection dies after COMMIT
  lostReplies = 0;
  private readonly byRun = new Map<string, Message>();
  // every checkpoint stored, as (run, step) is unique: a step written twice keeps the first
  readonly checkpoints = new Map<string, { kind: string; state: Record<string, unknown> }>();
  private keep(runId: string, step: number, kind: string, state: Record<string, unknown>) {
    const key = `${runId}/${step}`;
    if (!this.checkpoints.has(key)) this.checkpoints.set(key, { kind, state });
  }
  async insertAnswer(conv: string, runId: string, a: { retry?: boolean; started: Record<string, unknown> }): Promise<Message> {
    if (a.retry && this.byRun.has(runId)) return this.byRun.get(runId)!;
    const id = `a${this.rows.size + 1}`;
    this.rows.set(id, { status: 'streaming', content: '' });
    this.keep(runId, 0, 'started', a.started);
    const m = fakeMessage({ id, seq: this.rows.size + 1, conversation_id: conv, status: 'streaming', run_id: runId });
    this.byRun.set(runId, m);
    if (this.lostReplies-- > 0) throw new Error('read ECONNRESET');
    return m;
  }
  async appendChunks(c: AnswerChunk[]) { this.chunks.push(...c); }
  lostFinishReplies = 0;
  // the end's update waits for this (a slow database)
  finishHeld: Promise<void> | undefined;
  async finish(id: string, content: string, status: 'complete' | 'cancelled' | 'interrupted' | 'failed', _m: unknown, last: { runId: string; step: number; state: Record<string, unknown> }) {
    await this.finishHeld;
    const row = this.rows.get(id)!;
    if (this.deleted) return { changed: false, status: 'deleted', content: '' };
    const lost = () => {
      this.keep(last.runId, last.step, `lost_${row.status}`, last.state);
      return { changed: false, status: row.status, content: row.content };
    };
    if (row.status !== 'streaming') return lost();
    if (this.lostFinishReplies-- > 0) {
      Object.assign(row, { status, content });
      this.keep(last.runId, last.step, status, last.state);
      throw new Error('read ECONNRESET');
    }
    if (this.endedElsewhere) {
      row.status = 'interrupted';
      row.content = content.slice(0, 2);
      return lost();
    }
    Object.assign(row, { status, content });
    this.keep(last.runId, last.step, status, last.state);
    return { changed: true, status, content };
  }
  async checkpoint(c: { runId: string; step: number; kind: string; state: Record<string, unknown> }) { this.keep(c.runId, c.step, c.kind, c.state); }
  async toolCall() {}
  async toolResult() {}
  async recentTurns() { return []; }
  async search() { return []; }
}

// Submits a message, lets the one-word answer stream and end, and waits for its terminal frame.
async function runOneWordToItsEnd(t: Pick<ReturnType<typeof setup>, 'runs' | 'agent' | 'until'>, frames: ServerFrame[]): Promise<void> {
  t.runs.submit('c1', 'alice', 1);
  await t.until(() => t.runs.localRun('c1') !== undefined);
  t.agent.step();
  t.agent.step();
  await t.until(() => frames.some((f) => f.type === 'run.failed' || f.type === 'response.completed'));
}

// A bus whose link the test restores, as the NATS bus reports after reconnecting.
class RestorableBus extends LocalBus {
  private readonly restored: (() => void)[] = [];
  onLinkRestored(h: () => void): void {
    this.restored.push(h);
  }
  restore(): void {
    for (const h of this.restored) h();
  }
}

function setup(words = ['Hello', ' there', ' friend'], other?: Agent) {
  const bus = new RestorableBus('r1');
  const hub = new Hub(bus);
  const store = new MemoryStore();
  const agent = new ScriptedAgent(words);
  const runs = new RunManager({ store, agent: other ?? agent, bus, hub, log: createLogger('silent'), metrics: createMetrics(), flushMs: 60_000 });
  const frames: ServerFrame[] = [];
  bus.subscribe((ev) => { if (ev.kind === 'frame') frames.push(ev.frame); });
  const tick = () => new Promise((r) => setImmediate(r));
  const until = async (pred: () => boolean) => { for (let i = 0; i < 200 && !pred(); i++) await tick(); expect(pred()).toBe(true); };
  return { bus, hub, store, agent, runs, frames, until, tick };
}

describe('RunManager', () => {
  it('streams a run to its end: run.started, deltas at their offsets, the stored text in response.completed', async () => {
    const { runs, agent, frames, store, until, bus } = setup();
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    expect(bus.watched('c1'), 'a run watches its conversation for cancels and snapshot requests').toBe(true);
    for (let i = 0; i < 3; i++) {
      agent.step();
      await until(() => frames.filter((f) => f.type === 'response.delta').length === i + 1);
    }
    agent.step();
    await until(() => frames.some((f) => f.type === 'response.completed'));
    const deltas = frames.filter((f): f is Extract<ServerFrame, { type: 'response.delta' }> => f.type === 'response.delta');
    expect(deltas.map((d) => d.offset)).toEqual([0, 5, 11]);
    expect(frames.find((f) => f.type === 'response.completed')).toMatchObject({ content: 'Hello there friend' });
    expect([...store.rows.values()]).toEqual([{ status: 'complete', content: 'Hello there friend' }]);
    expect(bus.watched('c1')).toBe(false);
  });

  it('ignores a cancel naming another conversation, directly or over the bus, and stops on its own', async () => {
    const { runs, agent, frames, store, until, bus } = setup();
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    const runId = runs.localRun('c1')!.runId;
    agent.step();
    await until(() => frames.some((f) => f.type === 'response.delta'));
    runs.cancel('c2', runId);
    bus.publish({ kind: 'cancel', conv: 'c2', run_id: runId });
    agent.step();
    await until(() => frames.filter((f) => f.type === 'response.delta').length === 2);
    expect(runs.isLocal(runId), 'a cancel for another conversation stopped this run').toBe(true);
    bus.publish({ kind: 'cancel', conv: 'c1', run_id: runId });
    await until(() => frames.some((f) => f.type === 'run.failed'));
    expect(frames.find((f) => f.type === 'run.failed')).toMatchObject({ code: 'cancelled', run_id: runId });
    expect([...store.rows.values()]).toEqual([{ status: 'cancelled', content: 'Hello there' }]);
  });

  it('answers a snapshot request with the text so far, to the asking session only', async () => {
    const { runs, agent, until, bus } = setup();
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    agent.step();
    await until(() => runs.localRun('c1')!.content === 'Hello');
    const seen: unknown[] = [];
    bus.subscribe((ev) => { if (ev.kind === 'frame' && ev.frame.type === 'run.snapshot') seen.push(ev); });
    bus.publish({ kind: 'snapshot_request', conv: 'c1', run_id: runs.localRun('c1')!.runId, session: 's9' });
    expect(seen).toMatchObject([{ only: 's9', frame: { content: 'Hello', offset: 5 } }]);
    runs.cancel('c1', runs.localRun('c1')!.runId);
  });

  it('when its bus link is back, publishes each answer in flight whole, before its next token', async () => {
    const { runs, agent, frames, until, bus } = setup();
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    agent.step();
    await until(() => frames.filter((f) => f.type === 'response.delta').length === 1);
    agent.step();
    await until(() => frames.filter((f) => f.type === 'response.delta').length === 2);
    // the deltas so far were lost with the link: the watchers' text ends where it broke
    bus.restore();
    const snap = frames.at(-1);
    expect(snap).toMatchObject({ type: 'run.snapshot', content: 'Hello there', offset: 11 });
    agent.step();
    await until(() => frames.some((f) => f.type === 'response.completed'));
    expect(frames.slice(frames.indexOf(snap!) + 1)).toMatchObject([{ type: 'response.delta', offset: 11, delta: ' friend' }, { type: 'response.completed' }]);
  });

  it('when its bus link is back while an answer\'s end is being stored, publishes its final text ahead of the terminal frame', async () => {
    const { runs, agent, frames, store, until, bus } = setup(['Hello']);
    let release = () => {};
    store.finishHeld = new Promise<void>((r) => { release = r; });
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    agent.step();
    await until(() => frames.some((f) => f.type === 'response.delta'));
    agent.step();
    // the agent is done (no run is local any more); the end waits for the database
    await until(() => runs.localRun('c1') === undefined);
    bus.restore();
    release();
    await until(() => frames.some((f) => f.type === 'response.completed'));
    expect(frames.filter((f) => f.type === 'run.snapshot' || f.type === 'response.completed').map((f) => [f.type, 'content' in f ? f.content : ''])).toEqual([
      ['run.snapshot', 'Hello'],
      ['response.completed', 'Hello'],
    ]);
  });

  it('takes answer text the agent hands over in place of delta events, in order with them, but not while a thinking step waits to be stored', async () => {
    const taken: boolean[] = [];
    const handing: Agent = {
      name: 'handing',
      async *run(_h: unknown, ctx: AgentContext): AsyncGenerator<AgentEvent> {
        yield { type: 'thinking', step: 1, text: 'hmm' };
        for (const w of ['Hel', 'lo']) {
          const ok = ctx.delta!(w);
          taken.push(ok);
          if (!ok) yield { type: 'delta', text: w };
        }
        yield { type: 'delta', text: ' there' };
        taken.push(ctx.delta!('!'));
      },
    };
    const { runs, frames, store, until } = setup([], handing);
    runs.submit('c1', 'alice', 1);
    await until(() => frames.some((f) => f.type === 'response.completed'));
    expect(taken).toEqual([false, true, true]);
    const deltas = frames.filter((f): f is Extract<ServerFrame, { type: 'response.delta' }> => f.type === 'response.delta');
    expect(deltas.map((d) => d.delta).join('')).toBe('Hello there!');
    let at = 0;
    for (const d of deltas) {
      expect(d.offset).toBe(at);
      at += d.delta.length;
    }
    expect(frames.findIndex((f) => f.type === 'agent.thinking')).toBeLessThan(frames.findIndex((f) => f.type === 'response.delta'));
    expect(frames.find((f) => f.type === 'response.completed')).toMatchObject({ content: 'Hello there!' });
    expect([...store.rows.values()]).toEqual([{ status: 'complete', content: 'Hello there!' }]);
    expect([...store.checkpoints.values()].map((c) => c.kind)).toEqual(['started', 'thinking', 'complete']);
  });

  it('an answer row whose insert committed but lost its reply is the one the run uses: none is left streaming', async () => {
    const { runs, agent, frames, store, until } = setup(['Hello']);
    store.lostReplies = 1;
    runs.submit('c1', 'alice', 1);
    // the retry waits 250 ms, as it would for the database to come back
    for (let i = 0; i < 100 && runs.localRun('c1') === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    agent.step();
    agent.step();
    await until(() => frames.some((f) => f.type === 'response.completed'));
    expect([...store.rows.values()]).toEqual([{ status: 'complete', content: 'Hello' }]);
    expect(frames.filter((f) => f.type === 'run.started')).toHaveLength(1);
    expect([...store.checkpoints.entries()].map(([k, c]) => [k.split('/')[1], c.kind])).toEqual([['0', 'started'], ['1', 'complete']]);
  });

  it('an end whose update committed but lost its reply is told as stored: complete, not interrupted', async () => {
    const { runs, agent, frames, store, until } = setup(['Hello']);
    store.lostFinishReplies = 1;
    runs.submit('c1', 'alice', 1);
    await until(() => runs.localRun('c1') !== undefined);
    agent.step();
    agent.step();
    for (let i = 0; i < 100 && !frames.some((f) => f.type === 'run.failed' || f.type === 'response.completed'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames.some((f) => f.type === 'run.failed')).toBe(false);
    expect(frames.find((f) => f.type === 'response.completed')).toMatchObject({ content: 'Hello' });
    expect([...store.rows.values()]).toEqual([{ status: 'complete', content: 'Hello' }]);
    // the retried end carries the same final step, so the run keeps one last checkpoint
    expect([...store.checkpoints.values()].map((c) => c.kind)).toEqual(['started', 'complete']);
    expect([...store.checkpoints.values()][1]!.state).toMatchObject({ length: 5 });
  });

  it('tells clients what is stored when another process ended the answer first, never response.completed', async () => {
    const { frames, store, ...t } = setup(['Hello']);
    store.endedElsewhere = true;
    await runOneWordToItsEnd(t, frames);
    expect(frames.some((f) => f.type === 'response.completed')).toBe(false);
    expect(frames.find((f) => f.type === 'run.failed')).toMatchObject({ code: 'interrupted', content: 'He' });
    expect([...store.checkpoints.values()].map((c) => c.kind)).toEqual(['started', 'lost_interrupted']);
  });

  it('ends with a catalogued code when the answer\'s row was deleted with its conversation', async () => {
    const { frames, store, ...t } = setup(['Hello']);
    store.deleted = true;
    await runOneWordToItsEnd(t, frames);
    expect(frames.find((f) => f.type === 'run.failed')).toMatchObject({ code: 'interrupted', content: '' });
  });
});
