import { describe, expect, it } from 'vitest';
import { wireMessage, type Message } from './message.js';
import type { BusEvent } from './bus.js';
import { FakePort, FakeStore, fakeGateway, fakeMessage, settle } from './testing/fakes.js';

async function ready(conv = 'c1', user = 'alice', opts: Parameters<typeof fakeGateway>[0] = {}) {
  const gw = fakeGateway(opts);
  gw.store.owners.set(conv, user);
  gw.store.owners.set('c2', 'bob');
  const port = new FakePort();
  const s = gw.g.open(conv, '127.0.0.1', port);
  s.onText(JSON.stringify({ type: 'auth', token: user }));
  await settle();
  expect(port.ofType('ready')).toHaveLength(1);
  return { ...gw, port, s };
}

const send = (s: { onText(t: string): void }, f: Record<string, unknown>) => s.onText(JSON.stringify(f));

describe('Session', () => {
  it('acks a stored message and starts a run for it', async () => {
    const { s, port, runs } = await ready();
    send(s, { type: 'message', client_msg_id: '00000000-0000-4000-8000-000000000001', content: 'hi' });
    await settle();
    expect(port.ofType('ack')).toMatchObject([{ client_msg_id: '00000000-0000-4000-8000-000000000001', seq: 1, duplicate: false }]);
    expect(runs.submitted).toEqual([1]);
  });

  it('answers a message the database failed to store with an error, never an ack, and starts no run', async () => {
    const { s, port, store, runs } = await ready();
    store.failInsert = new Error('connection terminated');
    send(s, { type: 'message', client_msg_id: '00000000-0000-4000-8000-000000000002', content: 'lost?' });
    await settle();
    expect(port.ofType('ack'), 'an ack was sent for a message that was not stored').toEqual([]);
    const [err] = port.ofType('error');
    expect(err?.code).toBe('internal');
    expect(err?.message).toMatch(/retry with the same client_msg_id/);
    expect(runs.submitted).toEqual([]);
    expect(port.closedWith).toBeUndefined();
  });

  it('refuses to cancel a run of another conversation, local or remote', async () => {
    const { s, port, runs, store } = await ready();
    runs.local.set('00000000-0000-4000-8000-0000000000c2', { conv: 'c2' });
    send(s, { type: 'cancel', run_id: '00000000-0000-4000-8000-0000000000c2' });
    await settle();
    store.streaming = fakeMessage({ id: 'a9', seq: 9, role: 'assistant', status: 'streaming', run_id: '00000000-0000-4000-8000-0000000000c1' });
    send(s, { type: 'cancel', run_id: '00000000-0000-4000-8000-0000000000ee' });
    await settle();
    expect(runs.cancelled, "a socket cancelled another conversation's run").toEqual([]);
    expect(port.ofType('error').map((e) => e.code)).toEqual(['run_not_found', 'run_not_found']);
    send(s, { type: 'cancel', run_id: '00000000-0000-4000-8000-0000000000c1' });
    await settle();
    expect(runs.cancelled).toEqual([{ conv: 'c1', runId: '00000000-0000-4000-8000-0000000000c1' }]);
  });

  it('does not take a pong with the wrong id for the answer to its ping, and closes 4410 after two missed', async () => {
    const { s, port } = await ready();
    const t0 = Date.now();
    s.tick(t0 + 20_000);
    const [ping] = port.ofType('ping');
    expect(ping).toBeDefined();
    send(s, { type: 'pong', id: `${ping!.id}x` });
    s.tick(t0 + 40_000);
    expect(port.closedWith, 'closed after one missed pong').toBeUndefined();
    s.tick(t0 + 60_000);
    expect(port.closedWith?.code, 'a pong with the wrong id was accepted').toBe(4410);
  });

  it('keeps a socket that answers each ping with its id', async () => {
    const { s, port } = await ready();
    const t0 = Date.now();
    for (let i = 1; i <= 4; i++) {
      s.tick(t0 + i * 20_000);
      send(s, { type: 'pong', id: port.ofType('ping').at(-1)!.id });
    }
    expect(port.closedWith).toBeUndefined();
    expect(port.ofType('ping')).toHaveLength(4);
  });

  it('relays typing to the other sessions at most once per 300 ms', async () => {
    const { s, bus } = await ready();
    const typing: BusEvent[] = [];
    bus.subscribe((ev) => { if (ev.kind === 'frame' && ev.frame.type === 'typing') typing.push(ev); });
    send(s, { type: 'typing', state: 'start' });
    send(s, { type: 'typing', state: 'start' });
    send(s, { type: 'typing', state: 'start' });
    expect(typing, 'the typing throttle let repeated starts through').toHaveLength(1);
    send(s, { type: 'typing', state: 'stop' });
    expect(typing).toHaveLength(2);
  });

  it('closes a socket that does not authenticate in time with 4408, and one for a conversation it does not own with 4404', async () => {
    const gw = fakeGateway();
    gw.store.owners.set('c2', 'bob');
    const silent = new FakePort();
    const s = gw.g.open('c1', '127.0.0.1', silent);
    s.tick(Date.now() + 4000);
    expect(silent.closedWith).toBeUndefined();
    s.tick(Date.now() + 5001);
    expect(silent.closedWith?.code).toBe(4408);

    const nosy = new FakePort();
    send(gw.g.open('c2', '127.0.0.1', nosy), { type: 'auth', token: 'alice' });
    await settle();
    expect(nosy.closedWith?.code).toBe(4404);
    expect(nosy.ofType('ready')).toEqual([]);
  });
});

const stored = (seq: number): Message => fakeMessage({ id: `m${seq}`, seq, role: 'user', content: `m${seq}`, user_id: 'alice' });

async function resume(lastSeq: number | undefined, stored: Message[], during?: (store: FakeStore, g: ReturnType<typeof fakeGateway>) => void) {
  const store = new FakeStore();
  store.owners.set('c1', 'alice');
  store.messages.push(...stored);
  const gw = fakeGateway({ store });
  if (during) {
    // a live frame published while the replay is read
    const read = store.messagesAfter.bind(store);
    store.messagesAfter = async (...a) => {
      const out = await read(...a);
      during(store, gw);
      return out;
    };
  }
  const port = new FakePort();
  send(gw.g.open('c1', '127.0.0.1', port), { type: 'auth', token: 'alice', ...(lastSeq === undefined ? {} : { last_seq: lastSeq }) });
  await settle();
  return port;
}

describe('Session resume', () => {
  it('replays exactly the messages after a non-zero last_seq', async () => {
    const port = await resume(3, [1, 2, 3, 4, 5].map(stored));
    expect(port.ofType('ready')[0]?.last_seq).toBe(5);
    expect(port.ofType('message').map((m) => m.message.seq), 'replay is off by one').toEqual([4, 5]);
  });

  it('replays nothing when the client is up to date or gave no last_seq', async () => {
    expect((await resume(5, [1, 2, 3, 4, 5].map(stored))).ofType('message')).toEqual([]);
    expect((await resume(undefined, [1, 2, 3].map(stored))).ofType('message')).toEqual([]);
  });

  it('delivers a message published during the replay once, after the replay', async () => {
    const port = await resume(1, [1, 2, 3].map(stored), (store, gw) => {
      gw.bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'message', message: wireMessage(stored(3)) } }); // already in the replay
      store.messages.push(stored(4));
      gw.bus.publish({ kind: 'frame', conv: 'c1', frame: { type: 'message', message: wireMessage(stored(4)) } });
    });
    expect(port.ofType('message').map((m) => m.message.seq)).toEqual([2, 3, 4]);
  });

  it('says resync instead of replaying when last_seq is ahead or too far behind', async () => {
    const ahead = await resume(9, [1, 2].map(stored));
    expect(ahead.ofType('resync')[0]?.reason).toMatch(/ahead/);
    expect(ahead.ofType('message')).toEqual([]);
    const far = await resume(0, Array.from({ length: 1001 }, (_, i) => stored(i + 1)));
    expect(far.ofType('resync')[0]?.reason).toMatch(/more than 1000/);
    expect(far.ofType('message')).toEqual([]);
  });

  it('sends the snapshot of a local run in flight after the replay', async () => {
    const store = new FakeStore();
    store.owners.set('c1', 'alice');
    store.messages.push(stored(1));
    const gw = fakeGateway({ store });
    gw.runs.local.set('r1', { conv: 'c1' });
    const port = new FakePort();
    send(gw.g.open('c1', '127.0.0.1', port), { type: 'auth', token: 'alice', last_seq: 0 });
    await settle();
    expect(port.frames.map((f) => f.type)).toEqual(['ready', 'message', 'run.snapshot', 'presence']); // live frames held back until the replay is out
    expect(port.ofType('ready')[0]?.active_run).toEqual({ run_id: 'r1', message_id: 'a1', seq: 2 });
  });
});

describe('Session reauth', () => {
  it('extends the token with a fresh one of the same user', async () => {
    const { s, port } = await ready();
    const exp = Math.floor(Date.now() / 1000) + 7200;
    send(s, { type: 'reauth', token: `alice@${exp}` });
    await settle();
    expect(s.exp).toBe(exp);
    s.tick(Date.now() + 3700_000);
    expect(port.closedWith, 'the refreshed token was not honoured').toBeUndefined();
    s.tick((exp + 1) * 1000);
    expect(port.closedWith?.code).toBe(4401);
  });

  it('never shortens the token, keeps the socket on a rejected reauth and closes 4401 on one for another user', async () => {
    const { s, port } = await ready();
    const exp = s.exp;
    send(s, { type: 'reauth', token: `alice@${exp - 100}` });
    await settle();
    expect(s.exp).toBe(exp);
    send(s, { type: 'reauth', token: 'bad' });
    await settle();
    expect(port.ofType('error')).toMatchObject([{ code: 'unauthorized', message: expect.stringMatching(/reauth rejected/) }]);
    expect(port.closedWith).toBeUndefined();
    send(s, { type: 'reauth', token: 'mallory' });
    await settle();
    expect(port.closedWith).toMatchObject({ code: 4401, reason: expect.stringMatching(/another user/) });
  });
});

describe('Session rate limits', () => {
  it('warns once when frames exceed the rate, then closes with 4429 past the burst of refusals', async () => {
    const { s, port } = await ready('c1', 'alice', { cfg: { ratePerSec: 1, rateBurst: 3 } });
    for (let i = 0; i < 3; i++) send(s, { type: 'ping', id: i });
    expect(port.ofType('pong')).toHaveLength(3);
    for (let i = 0; i < 3; i++) send(s, { type: 'ping', id: i });
    expect(port.ofType('pong'), 'frames past the rate were answered').toHaveLength(3);
    expect(port.ofType('error').map((e) => e.code), 'one warning, not one per dropped frame').toEqual(['rate_limited']);
    expect(port.closedWith).toBeUndefined();
    send(s, { type: 'ping', id: 9 });
    expect(port.closedWith?.code).toBe(4429);
  });

  it('refuses a message past the user rate with an error naming it, and stores nothing', async () => {
    const { s, port, store } = await ready('c1', 'alice', { cfg: { userMessageRatePerSec: 1, userMessageBurst: 1 } });
    send(s, { type: 'message', client_msg_id: '00000000-0000-4000-8000-000000000001', content: 'one' });
    send(s, { type: 'message', client_msg_id: '00000000-0000-4000-8000-000000000002', content: 'two' });
    await settle();
    expect(port.ofType('ack').map((a) => a.client_msg_id)).toEqual(['00000000-0000-4000-8000-000000000001']);
    expect(port.ofType('error')).toMatchObject([{ code: 'rate_limited', client_msg_id: '00000000-0000-4000-8000-000000000002', message: expect.stringMatching(/not stored/) }]);
    expect(store.messages.map((m) => m.content)).toEqual(['one']);
  });
});
