import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../protocol/frames.js';
import { LocalBus } from './bus.js';
import { Hub, type Endpoint } from './hub.js';

function ep(sessionId: string, conv = 'c1', userId = 'u'): Endpoint & { got: ServerFrame[] } {
  const got: ServerFrame[] = [];
  return { sessionId, userId, conv, got, deliver: (f) => got.push(f) };
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
