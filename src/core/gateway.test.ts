import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Metrics } from '../metrics/metrics.js';
import { LocalBus } from './bus.js';
import { wireMessage } from './message.js';
import { FakePort, fakeGateway, fakeMessage, settle } from './testing/fakes.js';

// setImmediate stays real: settle() lets promise chains run while the clock stands still.
beforeEach(() => void vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] }));
afterEach(() => void vi.useRealTimers());

const send = (s: { onText(t: string): void }, f: Record<string, unknown>) => s.onText(JSON.stringify(f));

async function gauge(m: Metrics, state: string): Promise<number> {
  return (await m.wsConnections.get()).values.find((v) => v.labels.state === state)?.value ?? 0;
}

async function authFailures(m: Metrics, reason: string): Promise<number> {
  return (await m.wsAuthFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

const msg = (seq: number) => fakeMessage({ id: `m${seq}`, seq, role: 'user', content: `m${seq}`, user_id: 'alice' });

describe('Gateway admission', () => {
  it('refuses an address past its pending sockets until one of them authenticates or leaves', async () => {
    const gw = fakeGateway({ cfg: { maxPendingPerIp: 2 } });
    gw.store.owners.set('c1', 'alice');
    const a = gw.g.open('c1', '10.0.0.1', new FakePort());
    const b = gw.g.open('c1', '10.0.0.1', new FakePort());
    expect(gw.g.admit('10.0.0.1')).toBe('too_many_pending');
    expect(gw.g.admit('10.0.0.2'), 'the limit is per address').toBe('ok');
    expect(await gauge(gw.metrics, 'pending')).toBe(2);

    send(a, { type: 'auth', token: 'alice' });
    await settle();
    expect(a.state).toBe('ready');
    expect(gw.g.admit('10.0.0.1'), 'an authenticated socket still counted as pending').toBe('ok');
    expect(await gauge(gw.metrics, 'pending')).toBe(1);
    expect(await gauge(gw.metrics, 'ready')).toBe(1);

    gw.g.open('c1', '10.0.0.1', new FakePort());
    expect(gw.g.admit('10.0.0.1')).toBe('too_many_pending');
    b.closed();
    expect(gw.g.admit('10.0.0.1'), 'a pending socket that left still counted').toBe('ok');
    a.closed();
    expect(await gauge(gw.metrics, 'ready')).toBe(0);
    expect(gw.g.size).toBe(1);
  });

  it('closes a user past the per-user connection cap with 4429', async () => {
    const gw = fakeGateway({ cfg: { maxConnectionsPerUser: 2 } });
    gw.store.owners.set('c1', 'alice');
    const ports = [new FakePort(), new FakePort(), new FakePort()];
    for (const p of ports) {
      send(gw.g.open('c1', '127.0.0.1', p), { type: 'auth', token: 'alice' });
      await settle();
    }
    expect(ports.map((p) => p.closedWith?.code)).toEqual([undefined, undefined, 4429]);
    expect(await authFailures(gw.metrics, 'rate_limited')).toBe(1);
  });

  it('shares one message bucket among all the sockets of a user', async () => {
    const gw = fakeGateway({ cfg: { userMessageRatePerSec: 1, userMessageBurst: 2 } });
    gw.store.owners.set('c1', 'alice');
    const ports = [new FakePort(), new FakePort(), new FakePort()];
    const sessions = ports.map((p) => gw.g.open('c1', '127.0.0.1', p));
    for (const s of sessions) send(s, { type: 'auth', token: 'alice' });
    await settle();
    sessions.forEach((s, i) => send(s, { type: 'message', client_msg_id: `00000000-0000-4000-8000-00000000000${i}`, content: 'x' }));
    await settle();
    expect(ports.map((p) => p.ofType('ack').length)).toEqual([1, 1, 0]);
    expect(ports[2]!.ofType('error')).toMatchObject([{ code: 'rate_limited', client_msg_id: '00000000-0000-4000-8000-000000000002' }]);
    expect(gw.store.messages).toHaveLength(2);
  });
});

describe('Gateway ticker', () => {
  it('starts no timer until start(), and drain() stops it', async () => {
    const gw = fakeGateway();
    expect(vi.getTimerCount(), 'the constructor started a timer').toBe(0);
    gw.g.start();
    gw.g.start();
    expect(vi.getTimerCount()).toBe(1);
    await gw.g.drain(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closes a socket with no auth frame at the auth deadline with 4408', async () => {
    const gw = fakeGateway({ cfg: { authTimeoutMs: 5000 } });
    gw.g.start();
    const port = new FakePort();
    gw.g.open('c1', '127.0.0.1', port);
    vi.advanceTimersByTime(4000);
    expect(port.closedWith, 'closed before its deadline').toBeUndefined();
    vi.advanceTimersByTime(1000);
    expect(port.closedWith?.code).toBe(4408);
    expect(gw.g.size).toBe(0);
    expect(await authFailures(gw.metrics, 'timeout')).toBe(1);
    expect(await gauge(gw.metrics, 'pending')).toBe(0);
  });

  it('pings every heartbeat and closes with 4410 after two unanswered pings', async () => {
    const gw = fakeGateway({ cfg: { heartbeatMs: 4000 } });
    gw.store.owners.set('c1', 'alice');
    gw.g.start();
    const port = new FakePort();
    send(gw.g.open('c1', '127.0.0.1', port), { type: 'auth', token: 'alice' });
    await settle();
    vi.advanceTimersByTime(4000);
    expect(port.ofType('ping')).toHaveLength(1);
    vi.advanceTimersByTime(4000);
    expect(port.closedWith, 'closed after one missed pong').toBeUndefined();
    expect(port.ofType('ping')).toHaveLength(2);
    vi.advanceTimersByTime(4000);
    expect(port.closedWith?.code).toBe(4410);
  });

  it('closes a socket whose token expires with 4401, and not one whose token was refreshed', async () => {
    const gw = fakeGateway();
    gw.store.owners.set('c1', 'alice');
    gw.g.start();
    const exp = Math.floor(Date.now() / 1000) + 10;
    const stale = new FakePort();
    const fresh = new FakePort();
    send(gw.g.open('c1', '127.0.0.1', stale), { type: 'auth', token: `alice@${exp}` });
    const f = gw.g.open('c1', '127.0.0.1', fresh);
    send(f, { type: 'auth', token: `alice@${exp}` });
    await settle();
    send(f, { type: 'reauth', token: `alice@${exp + 3600}` });
    await settle();
    vi.advanceTimersByTime(8000);
    expect(stale.closedWith).toBeUndefined();
    vi.advanceTimersByTime(3000);
    expect(stale.closedWith?.code).toBe(4401);
    expect(stale.closedWith?.reason).toMatch(/expired/);
    expect(fresh.closedWith, 'a refreshed token was not honoured').toBeUndefined();
    expect(await authFailures(gw.metrics, 'expired')).toBe(1);
  });
});

describe('Gateway drain', () => {
  it('refuses new sockets, stops local runs, waits for in-flight work, then closes every socket with 1001', async () => {
    const gw = fakeGateway();
    gw.store.owners.set('c1', 'alice');
    gw.g.start();
    const ready = new FakePort();
    const pending = new FakePort();
    send(gw.g.open('c1', '127.0.0.1', ready), { type: 'auth', token: 'alice' });
    gw.g.open('c1', '127.0.0.2', pending);
    await settle();
    gw.inflight.begin();
    const drained = gw.g.drain(10_000);
    expect(gw.g.admit('127.0.0.3')).toBe('draining');
    await settle();
    expect(gw.runs.shutdowns).toBe(1);
    expect(ready.closedWith, 'sockets closed before in-flight work ended').toBeUndefined();
    gw.inflight.end();
    await drained;
    expect(ready.closedWith?.code).toBe(1001);
    expect(pending.closedWith?.code).toBe(1001);
    expect(gw.g.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Gateway resync', () => {
  it('re-reads what the sockets may have missed when the bus reports an outage', async () => {
    class OutageBus extends LocalBus {
      readonly resyncs: (() => void)[] = [];
      override onResync(h: () => void): void {
        this.resyncs.push(h);
      }
    }
    const bus = new OutageBus('r1');
    const gw = fakeGateway({ bus });
    gw.store.owners.set('c1', 'alice');
    gw.store.messages.push(msg(1));
    expect(bus.resyncs, 'the constructor subscribed to the bus').toHaveLength(0);
    gw.g.start();
    const port = new FakePort();
    send(gw.g.open('c1', '127.0.0.1', port), { type: 'auth', token: 'alice', last_seq: 1 });
    await settle();
    gw.store.messages.push(msg(2));
    bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'message', message: wireMessage(msg(2)) } });
    gw.store.messages.push(msg(3), msg(4)); // stored while the bus was down: never published here
    bus.resyncs.forEach((h) => h());
    await settle();
    expect(port.ofType('message').map((m) => m.message.seq)).toEqual([2, 3, 4]);
  });

  it('re-reads only the conversations named by a gap, and only those with sockets here', async () => {
    class GapBus extends LocalBus {
      readonly resyncs: ((convs?: readonly string[]) => void)[] = [];
      override onResync(h: (convs?: readonly string[]) => void): void {
        this.resyncs.push(h);
      }
    }
    const bus = new GapBus('r1');
    const gw = fakeGateway({ bus });
    const read: string[] = [];
    const messagesAfter = gw.store.messagesAfter.bind(gw.store);
    gw.store.messagesAfter = async (conv, after, limit) => {
      read.push(conv);
      return messagesAfter(conv, after, limit);
    };
    gw.g.start();
    for (const conv of ['c1', 'c2']) {
      gw.store.owners.set(conv, 'alice');
      send(gw.g.open(conv, '127.0.0.1', new FakePort()), { type: 'auth', token: 'alice' });
    }
    await settle();
    read.length = 0;
    bus.resyncs.forEach((h) => h(['c2', 'elsewhere']));
    await settle();
    expect(read).toEqual(['c2']);
    read.length = 0;
    bus.resyncs.forEach((h) => h());
    await settle();
    expect(read.sort()).toEqual(['c1', 'c2']);
  });
});
