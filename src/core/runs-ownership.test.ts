import { describe, expect, it } from 'vitest';
import type { Agent, AgentEvent } from './agent.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics/metrics.js';
import type { ServerFrame } from '../protocol/frames.js';
import { LocalBus } from './bus.js';
import { Hub } from './hub.js';
import type { RunStore } from './run-store.js';
import { RunManager } from './runs.js';
import { fakeMessage } from './testing/fakes.js';

// An agent that streams words until it is aborted or runs out.
function agent(words: string[], gate?: Promise<void>): Agent {
  return {
    name: 'fake',
    async *run(_h, ctx): AsyncIterable<AgentEvent> {
      for (const [i, w] of words.entries()) {
        if (i === 1 && gate) await gate;
        if (ctx.signal.aborted) return;
        yield { type: 'delta', text: w };
      }
    },
  };
}

function setup(finish: RunStore['finish'], a: Agent) {
  const bus = new LocalBus('r1');
  const frames: ServerFrame[] = [];
  bus.subscribe((ev) => { if (ev.kind === 'frame') frames.push(ev.frame); });
  const store: RunStore = {
    insertAnswer: async (conv, runId) => fakeMessage({ id: 'm1', seq: 2, conversation_id: conv, status: 'streaming', run_id: runId }),
    appendChunks: async () => undefined,
    finish,
    checkpoint: async () => undefined,
    toolCall: async () => undefined,
    toolResult: async () => undefined,
    recentTurns: async () => [],
    search: async () => [],
  };
  const runs = new RunManager({ store, agent: a, bus, hub: new Hub(bus), log: createLogger('silent'), metrics: createMetrics() });
  return { runs, frames };
}

const ended = (frames: ServerFrame[]) => frames.filter((f) => f.type === 'response.completed' || f.type === 'run.failed');

describe('RunManager: the terminal frame follows the stored row', () => {
  it('publishes response.completed when its update ended the row', async () => {
    const { runs, frames } = setup(async (_id, content, status) => ({ changed: true, status, content }), agent(['a ', 'b']));
    runs.submit('c1', 'u', 1);
    await expect.poll(() => ended(frames).length).toBe(1);
    expect(ended(frames)[0]).toMatchObject({ type: 'response.completed', content: 'a b' });
  });

  it('publishes run.failed with the stored content when another replica already ended it', async () => {
    const { runs, frames } = setup(async () => ({ changed: false, status: 'interrupted', content: 'a ' }), agent(['a ', 'b']));
    runs.submit('c1', 'u', 1);
    await expect.poll(() => ended(frames).length).toBe(1);
    expect(ended(frames)[0]).toMatchObject({ type: 'run.failed', code: 'interrupted', content: 'a ' });
    expect(frames.some((f) => f.type === 'response.completed')).toBe(false);
  });

  it('abandon() stops a run in flight; it ends as interrupted against the row', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const calls: string[] = [];
    const { runs, frames } = setup(async (_id, _c, status) => { calls.push(status); return { changed: false, status: 'interrupted', content: 'a ' }; }, agent(['a ', 'b', 'c'], gate));
    runs.submit('c1', 'u', 1);
    await expect.poll(() => runs.localAnswers()).toEqual(['m1']);
    runs.abandon(['m1']);
    release();
    await expect.poll(() => ended(frames).length).toBe(1);
    expect(calls).toEqual(['interrupted']);
    expect(ended(frames)[0]).toMatchObject({ type: 'run.failed', code: 'interrupted', content: 'a ' });
  });

  it('retries the terminal update through a database outage, then reports', async () => {
    let attempts = 0;
    const { runs, frames } = setup(async (_id, content, status) => {
      if (++attempts < 3) throw Object.assign(new Error('connection closed'), { code: 'CONNECTION_CLOSED' });
      return { changed: true, status, content };
    }, agent(['x']));
    runs.submit('c1', 'u', 1);
    await expect.poll(() => ended(frames).length, { timeout: 5000 }).toBe(1);
    expect(attempts).toBe(3);
    expect(ended(frames)[0]).toMatchObject({ type: 'response.completed', content: 'x' });
  });
});
