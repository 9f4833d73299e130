import { describe, expect, it, vi } from 'vitest';
import type { ServerFrame } from '../protocol/frames.js';
import { LocalBus } from './bus.js';
import { Hub, type Endpoint } from './hub.js';

function ep(sessionId: string, conv = 'c1', userId = 'u'): Endpoint & { got: ServerFrame[]; texts: string[] } {
  const got: ServerFrame[] = [];
  const texts: string[] = [];
  return { sessionId, userId, conv, got, texts, deliver: (f, t) => { got.push(f); texts.push(t); } };
}

const msg = (id: string, seq: number, status: string): ServerFrame => ({
  type: 'message', message: { id, seq, status, role: 'assistant', content: '', client_msg_id: null, run_id: 'r', user_id: null, created_at: '' },
});

describe('Hub', () => {
  it('delivers frames to the sessions of a conversation, honouring only and except', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const a = ep('a');
    const b = ep('b');
    const other = ep('x', 'c2');
    [a, b, other].forEach((e) => hub.join(e));
    const typing: ServerFrame = { type: 'typing', session_id: 'a', user_id: 'u', state: 'start' };
    bus.publish({ kind: 'frame', conv: 'c1', frame: typing, except: 'a' });
    bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'pong', id: 1 }, only: 'a' });
    expect(a.got.filter((f) => f.type !== 'presence')).toEqual([{ type: 'pong', id: 1 }]);
    expect(b.got.filter((f) => f.type !== 'presence')).toEqual([typing]);
    expect(other.got.filter((f) => f.type !== 'presence')).toEqual([]);
  });

  it('merges presence from other replicas and answers their hello', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const a = ep('a');
    hub.join(a);
    const published: unknown[] = [];
    bus.subscribe((ev) => published.push(ev));
    // simulate a remote replica announcing itself
    (hub as unknown as { onEvent: (ev: unknown, local: boolean) => void }).onEvent({ kind: 'presence', conv: 'c1', replica: 'r2', sessions: [{ session_id: 'z', user_id: 'v' }], hello: true }, false);
    expect(hub.presence('c1').map((s) => s.session_id)).toEqual(['a', 'z']);
    expect(published).toContainEqual({ kind: 'presence', conv: 'c1', replica: 'r1', sessions: [{ session_id: 'a', user_id: 'u' }], hello: false });
    expect(a.got.at(-1)).toEqual({ type: 'presence', sessions: [{ session_id: 'a', user_id: 'u' }, { session_id: 'z', user_id: 'v' }] });
  });

  it('counts connections per user and resyncs from before the oldest open answer', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const a = ep('a');
    hub.join(a);
    hub.join(ep('b'));
    expect(hub.connectionsOf('u')).toBe(2);
    bus.publish({ kind: 'frame', conv: 'c1', frame: msg('m4', 4, 'streaming') });
    bus.publish({ kind: 'frame', conv: 'c1', frame: msg('m5', 5, 'complete') });
    expect(hub.deliveredSeq('c1')).toBe(5);
    expect(hub.resyncFrom('c1')).toBe(3);
    bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'run.failed', run_id: 'r', message_id: 'm4', code: 'cancelled', message: '' } });
    expect(hub.resyncFrom('c1')).toBe(5);
    hub.leave(a);
    expect(hub.connectionsOf('u')).toBe(1);
  });
});

describe('Hub watches', () => {
  it('watches a conversation on the bus from its first socket to its last', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const a = ep('a');
    const b = ep('b');
    expect(bus.watched('c1')).toBe(false);
    hub.join(a);
    hub.join(b);
    expect(bus.watched('c1')).toBe(true);
    hub.leave(a);
    expect(bus.watched('c1')).toBe(true);
    hub.leave(b);
    expect(bus.watched('c1')).toBe(false);
  });
});

describe('Hub fan-out', () => {
  it('encodes a frame once for all the sockets of a conversation, and hands each the same JSON', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const eps = ['a', 'b', 'c'].map((id) => ep(id));
    eps.forEach((e) => hub.join(e));
    const frame: ServerFrame = { type: 'response.delta', run_id: 'r', message_id: 'm', offset: 0, delta: 'hello' };
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      bus.publish({ kind: 'frame', conv: 'c1', frame });
      expect(stringify, 'the frame was encoded once per socket').toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    for (const e of eps) {
      expect(e.got.at(-1)).toBe(frame);
      expect(JSON.parse(e.texts.at(-1)!)).toEqual(frame);
    }
  });

  it('announces presence to every socket of a conversation on join and on leave, and to no other', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    const a = ep('a', 'c1', 'alice');
    const b = ep('b', 'c1', 'bob');
    const other = ep('x', 'c2', 'carol');
    hub.join(other);
    hub.join(a);
    hub.join(b);
    const presence = (e: { got: ServerFrame[] }) => e.got.filter((f) => f.type === 'presence').map((f) => (f.type === 'presence' ? f.sessions.map((s) => s.user_id) : []));
    expect(presence(a)).toEqual([['alice'], ['alice', 'bob']]);
    expect(presence(b)).toEqual([['alice', 'bob']]);
    hub.leave(a);
    expect(presence(b).at(-1)).toEqual(['bob']);
    expect(presence(a), 'a socket that left still got presence').toHaveLength(2);
    expect(presence(other)).toEqual([['carol']]);
    hub.leave(a); // twice: harmless
    expect(hub.connectionsOf('alice')).toBe(0);
    expect(hub.localConversations().sort()).toEqual(['c1', 'c2']);
    hub.leave(b);
    expect(hub.localConversations()).toEqual(['c2']);
  });

  it('re-reads from before a message lost in a bus outage, even when later ones arrived live', () => {
    const bus = new LocalBus('r1');
    const hub = new Hub(bus);
    hub.join(ep('a'), 0);
    // seq 1 was published while this replica's listener was down; the answer's row (2)
    // arrives live just before the outage is reported
    bus.publish({ kind: 'frame', conv: 'c1', frame: msg('m2', 2, 'streaming') });
    bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'response.completed', run_id: 'r', message_id: 'm2', seq: 2, content: 'x', cached: false, usage: { prompt_tokens: 0, completion_tokens: 0 } } });
    bus.publish({ kind: 'frame', conv: 'c1', frame: msg('m3', 3, 'complete') });
    expect(hub.resyncFrom('c1')).toBe(0);
    // the re-read delivers 1: the mark runs on through what had come past the gap
    hub.deliverLocal('c1', msg('m1', 1, 'complete'));
    expect(hub.resyncFrom('c1')).toBe(3);
  });
});
