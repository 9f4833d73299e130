import { describe, expect, it } from 'vitest';
import { RUN_FAILURES } from '../protocol/errors.js';
import { LocalBus, type BusEvent } from './bus.js';
import { endFrame, publishConversationDeleted, publishInterrupted, runFailed } from './run-frames.js';
import { FakePort, fakeGateway, settle } from './testing/fakes.js';

describe('run frames', () => {
  it('tells the clients of each swept answer it was interrupted, with the text kept', () => {
    const bus = new LocalBus('r1');
    const seen: BusEvent[] = [];
    bus.subscribe((ev) => seen.push(ev));
    publishInterrupted(bus, [{ id: 'm2', conversation_id: 'c1', run_id: 'r1', content: 'half an' }, { id: 'm7', conversation_id: 'c2', run_id: 'r2', content: '' }]);
    expect(seen).toEqual([
      { kind: 'frame', conv: 'c1', frame: { type: 'run.failed', run_id: 'r1', message_id: 'm2', code: 'interrupted', message: expect.stringMatching(/partial answer was kept/), content: 'half an' } },
      { kind: 'frame', conv: 'c2', frame: { type: 'run.failed', run_id: 'r2', message_id: 'm7', code: 'interrupted', message: expect.any(String), content: '' } },
    ]);
  });

  it('builds run.failed with a catalogued code, and content only when given', () => {
    expect(runFailed({ runId: 'r', messageId: 'm' }, 'cancelled', 'stop')).toEqual({ type: 'run.failed', run_id: 'r', message_id: 'm', code: 'cancelled', message: 'stop' });
    expect(Object.keys(RUN_FAILURES)).toEqual(expect.arrayContaining(['cancelled', 'interrupted', 'failed', 'llm_timeout']));
  });

  it('closes the sockets of a deleted conversation with 4404 after telling them why', async () => {
    const gw = fakeGateway();
    gw.store.owners.set('c1', 'alice');
    const port = new FakePort();
    const s = gw.g.open('c1', '127.0.0.1', port);
    s.onText(JSON.stringify({ type: 'auth', token: 'alice' }));
    await settle();
    publishConversationDeleted(gw.bus, 'c1');
    expect(port.ofType('resync')).toEqual([{ type: 'resync', reason: 'conversation_deleted' }]);
    expect(port.closedWith?.code).toBe(4404);
  });
});

const run = { runId: 'r', messageId: 'm', seq: 2, content: 'Hello' };
const end = { usage: { prompt_tokens: 1, completion_tokens: 2 }, cached: false, failure: undefined };
const stored = (changed: boolean, status: string, content = '') => ({ changed, status, content });

describe('endFrame', () => {
  it('completes with the run\'s text when the end was stored by this run', () => {
    expect(endFrame(run, 'complete', stored(true, 'complete'), end)).toEqual({ type: 'response.completed', run_id: 'r', message_id: 'm', seq: 2, content: 'Hello', cached: false, usage: end.usage });
  });

  it('fails with the agent\'s code and the text kept', () => {
    expect(endFrame(run, 'failed', stored(true, 'failed'), { ...end, failure: { code: 'llm_timeout', message: 'slow' } }))
      .toMatchObject({ type: 'run.failed', code: 'llm_timeout', message: 'slow; the partial answer was kept', content: 'Hello' });
    expect(endFrame(run, 'cancelled', stored(true, 'cancelled'), end)).toMatchObject({ code: 'cancelled', content: 'Hello' });
    expect(endFrame(run, 'interrupted', stored(true, 'interrupted'), end)).toMatchObject({ code: 'interrupted', message: 'the server is restarting; the partial answer was kept' });
  });

  it('reports the stored row when it had already ended: its status and its text, not the run\'s', () => {
    expect(endFrame(run, 'complete', stored(false, 'complete', 'Hello!'), end)).toMatchObject({ type: 'response.completed', content: 'Hello!' });
    expect(endFrame(run, 'complete', stored(false, 'interrupted', 'He'), end)).toMatchObject({ type: 'run.failed', code: 'interrupted', content: 'He' });
    expect(endFrame(run, 'complete', stored(false, 'cancelled', 'Hel'), end)).toMatchObject({ code: 'cancelled', message: 'the answer had already ended as cancelled; content is what was kept' });
    expect(endFrame(run, 'complete', stored(false, 'deleted'), end)).toMatchObject({ code: 'interrupted', content: '' });
  });
});
