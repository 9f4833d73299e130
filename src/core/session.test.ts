import { describe, expect, it } from 'vitest';
import type { BusEvent } from './bus.js';
import { FakePort, fakeGateway, fakeMessage, settle } from './testing/fakes.js';

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
