import { describe, expect, it } from 'vitest';
import type { BusEvent } from './bus.js';
import { TurnTokens } from './turn-tokens.js';

type FrameEvent = Extract<BusEvent, { kind: 'frame' }>;
const delta = (run: string, offset: number, text: string): FrameEvent => ({ kind: 'frame', conv: `c-${run}`, frame: { type: 'response.delta', run_id: run, message_id: `m-${run}`, offset, delta: text } });
const thinking = (run: string, step: number, text: string): FrameEvent => ({ kind: 'frame', conv: `c-${run}`, frame: { type: 'agent.thinking', run_id: run, step, text } });

function world() {
  const sent: FrameEvent[] = [];
  const turns: (() => void)[] = [];
  const t = new TurnTokens((ev) => void sent.push(ev), (f) => void turns.push(f));
  const endTurn = () => turns.splice(0).forEach((f) => f());
  return { t, sent, turns, endTurn };
}

describe('TurnTokens', () => {
  it('sends the tokens of one run in one turn as one frame at the end of the turn', () => {
    const { t, sent, turns, endTurn } = world();
    t.add('r', delta('r', 0, 'Hel'));
    t.add('r', delta('r', 3, 'lo'));
    t.add('r', delta('r', 5, '!'));
    expect(sent).toEqual([]);
    expect(turns).toHaveLength(1); // one deferral per turn, not per token
    endTurn();
    expect(sent).toEqual([delta('r', 0, 'Hello!')]);
  });

  it('keeps runs apart and sends each run\'s frames in order', () => {
    const { t, sent, endTurn } = world();
    t.add('a', delta('a', 0, 'x'));
    t.add('b', delta('b', 0, 'y'));
    t.add('a', delta('a', 1, 'z'));
    endTurn();
    expect(sent).toEqual([delta('a', 0, 'xz'), delta('b', 0, 'y')]);
  });

  it('does not join what does not follow on: a new thinking step, a gap in offsets, a delta after thinking', () => {
    const { t, sent, endTurn } = world();
    t.add('r', thinking('r', 1, 'a'));
    t.add('r', thinking('r', 1, 'b'));
    t.add('r', thinking('r', 2, 'c'));
    t.add('r', delta('r', 0, 'd'));
    t.add('r', delta('r', 5, 'e'));
    endTurn();
    expect(sent).toEqual([thinking('r', 1, 'ab'), thinking('r', 2, 'c'), delta('r', 0, 'd'), delta('r', 5, 'e')]);
  });

  it('flush() sends what is pending at once (before another frame of the run), and the turn end then sends nothing twice', () => {
    const { t, sent, endTurn } = world();
    t.add('r', delta('r', 0, 'ab'));
    t.flush();
    expect(sent).toEqual([delta('r', 0, 'ab')]);
    endTurn();
    expect(sent).toHaveLength(1);
    // a new turn defers again
    t.add('r', delta('r', 2, 'c'));
    endTurn();
    expect(sent).toEqual([delta('r', 0, 'ab'), delta('r', 2, 'c')]);
  });
});
