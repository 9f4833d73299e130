// The NATS bus against a real nats-server: the shared bus contract, then its faults —
// nats-server restarted, one replica's link cut (test/helpers/tcp-proxy), the publish
// bound reached while the link is stalled — and configuration that must fail at start.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { conversationSubject, createNatsBus } from '../../src/bus/nats-bus.js';
import { MAX_REMEMBERED } from '../../src/bus/publish-gate.js';
import { parseConfig, type NatsConfig } from '../../src/config.js';
import type { Bus, BusEvent } from '../../src/core/bus.js';
import type { BusMetrics } from '../../src/core/bus-metrics.js';
import { createLogger } from '../../src/log.js';
import { countingMetrics } from '../helpers/bus-metrics.js';
import { freePort, natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { busContract, delta, isMarker, marker, record, untilHearing } from './bus-contract.js';

const { bin, skip } = natsServerBinary();
const log = createLogger('silent');

function natsConfig(env: Record<string, string>): NatsConfig {
  const parsed = parseConfig({ BUS: 'nats', ...env });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  if (parsed.config.bus.kind !== 'nats') throw new Error('BUS=nats was not applied');
  return parsed.config.bus.nats;
}

// The bus sends what a turn of the event loop published at the end of that turn.
const turn = () => new Promise((r) => setImmediate(r));

const resyncs = (bus: Bus) => {
  // what each resync covered: the conversations named, or 'all'
  const r = { count: 0, scopes: [] as (readonly string[] | 'all')[] };
  bus.onResync((convs) => {
    r.count++;
    r.scopes.push(convs ?? 'all');
  });
  return r;
};

describe.skipIf(skip !== undefined)(`NATS bus on a real nats-server${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 60_000 }, () => {
  let nats: NatsServer;
  const open: Bus[] = [];
  const proxies: TcpProxy[] = [];
  const bus = async (env: Record<string, string> = {}, metrics?: BusMetrics) => {
    const b = await createNatsBus({ cfg: natsConfig({ NATS_URL: nats.url, ...env }), replicaId: randomUUID(), log, metrics });
    open.push(b);
    return b;
  };

  beforeAll(async () => {
    nats = await startNatsServer(bin!);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await nats?.stop();
  });

  busContract('nats', { replica: () => bus(), routes: true });

  it('what one task publishes leaves at the end of that task, not a turn later', async () => {
    const { counts, m } = countingMetrics();
    const runner = await bus({}, m);
    const watcher = await bus();
    const conv = randomUUID();
    watcher.watch(conv);
    const rw = record(watcher);
    await untilHearing(runner, rw, conv);
    const before = counts.published;
    const seen = rw.events.length;
    // As TurnTokens' flush does at the end of a turn: every run's frame in one pass. The
    // check is queued first, so it runs right after this pass, before the next turn.
    let beforeNextTurn = -1;
    await new Promise<void>((done) => setImmediate(() => {
      setImmediate(() => { beforeNextTurn = counts.published - before; done(); });
      runner.publish(delta(conv, 'r', 0, 'a'));
      runner.publish(delta(conv, 's', 0, 'b'));
    }));
    expect(beforeNextTurn).toBe(2);
    await expect.poll(() => rw.events.length - seen, { timeout: 5_000 }).toBe(2);
  });

  it('resynchronises every replica after nats-server restarts, and delivers again afterwards', async () => {
    const a = await bus();
    const b = await bus();
    const [sa, sb] = [resyncs(a), resyncs(b)];
    const rb = record(b);
    const conv = randomUUID();
    b.watch(conv);
    a.watch(conv);
    await nats.restart();
    await expect.poll(() => sa.count > 0 && sb.count > 0, { timeout: 15_000 }).toBe(true);
    // subscriptions are re-sent by the client; a publish after the reconnect arrives
    a.publish(marker(conv, 'after-restart'));
    await rb.next(isMarker('after-restart'), 10_000);
  });

  it('after one replica\'s link is cut and restored, it resyncs, may republish at once, and the replicas watching its conversations are told to re-read them', async () => {
    const proxy = await startTcpProxy('127.0.0.1', nats.port);
    proxies.push(proxy);
    const { counts, m } = countingMetrics();
    const runner = await bus({ NATS_URL: `nats://127.0.0.1:${proxy.port}` }, m);
    const watcher = await bus();
    const [sr, sw] = [resyncs(runner), resyncs(watcher)];
    const rw = record(watcher);
    const conv = randomUUID();
    // what the runs of a replica do when its own link is back: publish their text whole
    const restored = { runner: 0, watcher: 0 };
    runner.onLinkRestored!(() => {
      restored.runner++;
      runner.publish(marker(conv, 'republished'));
    });
    watcher.onLinkRestored!(() => void restored.watcher++);
    watcher.watch(conv);
    runner.watch(conv);
    await untilHearing(runner, rw, conv);
    expect(proxy.cut()).toBeGreaterThan(0);
    await expect.poll(() => counts.connected, { timeout: 10_000 }).toBe(false);
    // lost: the link is down (one per turn, so that they are not merged into one)
    for (let i = 0; i < 10; i++) {
      runner.publish(delta(conv, 'r', i, 'x'));
      await turn();
    }
    expect(counts.dropped.get('disconnected')).toBe(10);
    expect(sw.count).toBe(0);
    proxy.resume();
    await expect.poll(() => sr.count, { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => sw.count, { timeout: 10_000 }).toBeGreaterThan(0);
    // published from the handler, so past the gate: the link counts as up by then
    await rw.next(isMarker('republished'));
    expect(restored).toEqual({ runner: 1, watcher: 0 });
    runner.publish(marker(conv, 'after'));
    await rw.next(isMarker('after'));
    expect(rw.remote(conv).filter((e) => e.kind === 'frame' && e.frame.type === 'response.delta')).toHaveLength(0);
  });

  it('when more conversations missed events than the gate can list, every replica is asked to re-read (one broadcast), not only the first ones', async () => {
    const proxy = await startTcpProxy('127.0.0.1', nats.port);
    proxies.push(proxy);
    const { counts, m } = countingMetrics();
    const runner = await bus({ NATS_URL: `nats://127.0.0.1:${proxy.port}` }, m);
    const watcher = await bus();
    const sw = resyncs(watcher);
    const convs = Array.from({ length: MAX_REMEMBERED + 1 }, () => randomUUID());
    const last = convs.at(-1)!;
    watcher.watch(last);
    const rw = record(watcher);
    await untilHearing(runner, rw, last);
    expect(proxy.cut()).toBeGreaterThan(0);
    await expect.poll(() => counts.connected, { timeout: 10_000 }).toBe(false);
    for (const conv of convs) runner.publish(delta(conv, 'r', 0, 'x'));
    await turn(); // what one turn published leaves at its end
    expect(counts.dropped.get('disconnected')).toBe(convs.length);
    proxy.resume();
    // the watcher's conversation is past the bound: only the broadcast reaches it
    await expect.poll(() => sw.count, { timeout: 15_000 }).toBeGreaterThan(0);
  });

  it('bounds what the link has not confirmed: beyond NATS_MAX_PENDING_BYTES events are dropped, counted, and the watchers resync once it drains', async () => {
    const proxy = await startTcpProxy('127.0.0.1', nats.port);
    proxies.push(proxy);
    const { counts, m } = countingMetrics();
    const limit = 64 * 1024;
    const pub = await bus({ NATS_URL: `nats://127.0.0.1:${proxy.port}`, NATS_MAX_PENDING_BYTES: String(limit) }, m);
    const watcher = await bus();
    const sw = resyncs(watcher);
    const rw = record(watcher);
    const conv = randomUUID();
    watcher.watch(conv);
    await untilHearing(pub, rw, conv);
    proxy.stall(); // bytes are held: nothing is confirmed
    const piece = 'y'.repeat(1000);
    let sent = 0;
    // one delta per turn of the event loop, so that each leaves as its own message
    for (let i = 0; i < 400; i++) {
      pub.publish(delta(conv, 'r', sent, piece));
      sent += piece.length;
      await turn();
    }
    expect(counts.dropped.get('buffer_full') ?? 0).toBeGreaterThan(300);
    expect(counts.published).toBeLessThan(100);
    expect(sw.count).toBe(0);
    proxy.resume();
    // either the held bytes arrive (then a hint) or the stalled link was declared dead
    // and reconnected (then a hint too): both end with the watcher re-reading
    await expect.poll(() => sw.count, { timeout: 15_000 }).toBeGreaterThan(0);
  });

  it('sends what one turn published as one message per conversation, a run\'s deltas merged, in order', async () => {
    const pub = await bus();
    const watcher = await bus();
    const rw = record(watcher);
    const [a, b] = [randomUUID(), randomUUID()];
    watcher.watch(a);
    watcher.watch(b);
    pub.watch(a);
    await untilHearing(pub, rw, a);
    await untilHearing(pub, rw, b);
    const peer = await connect({ servers: nats.url });
    try {
      const seen: { subject: string; events: BusEvent[] }[] = [];
      peer.subscribe('chat.conv.*', {
        callback: (_e, msg) => {
          const env = msg.json<{ e?: BusEvent; es?: BusEvent[] }>();
          seen.push({ subject: msg.subject, events: env.es ?? (env.e ? [env.e] : []) });
        },
      });
      await peer.flush();
      const text = Array.from({ length: 50 }, (_, i) => `t${i} `).join('');
      let off = 0;
      for (let i = 0; i < 50; i++) {
        pub.publish(delta(a, 'r', off, `t${i} `));
        off += `t${i} `.length;
      }
      pub.publish(marker(a, 'after'));
      pub.publish(delta(b, 'q', 0, 'other'));
      pub.publish(delta(a, 'r', off, 'tail'));
      await rw.next((ev) => ev.kind === 'frame' && ev.frame.type === 'response.delta' && ev.frame.delta === 'tail');
      await peer.flush();
      // one message per conversation; on a, the 50 deltas as one, then what came between, then the rest
      expect(seen.map((x) => x.subject).sort()).toEqual([conversationSubject('chat', a), conversationSubject('chat', b)].sort());
      const onA = seen.find((x) => x.subject === conversationSubject('chat', a))!.events;
      expect(onA).toEqual([delta(a, 'r', 0, text), marker(a, 'after'), delta(a, 'r', text.length, 'tail')]);
      expect(rw.remote(a).slice(-3)).toEqual(onA);
    } finally {
      await peer.close();
    }
  });

  it('notices a gap in another replica\'s numbered events (lost between servers) and re-reads', async () => {
    const { counts, m } = countingMetrics();
    const watcher = await bus({}, m);
    const sw = resyncs(watcher);
    const rw = record(watcher);
    const conv = randomUUID();
    watcher.watch(conv);
    // another replica's envelopes, written by hand so that number 3 can go missing
    const peer = await connect({ servers: nats.url });
    try {
      const subject = conversationSubject('chat', conv);
      const send = (s: number) => peer.publish(subject, JSON.stringify({ o: 'peer', t: Date.now(), s, e: marker(conv, `n${s}`) }));
      for (let i = 0; i < 200 && rw.remote(conv).length === 0; i++) {
        send(1);
        await peer.flush();
        await new Promise((r) => setTimeout(r, 10));
      }
      send(2);
      await rw.next(isMarker('n2'));
      expect(counts.gaps).toBe(0);
      send(4);
      await rw.next(isMarker('n4'));
      expect(counts.gaps).toBe(1);
      await expect.poll(() => sw.count, { timeout: 5000 }).toBe(1);
      // the gap re-reads its own conversation, not every conversation the replica serves
      expect(sw.scopes).toEqual([[conv]]);
    } finally {
      await peer.close();
    }
  });

  describe('configuration that must fail at start, naming the variable', () => {
    it('an unreachable NATS_URL', async () => {
      const port = await freePort();
      await expect(createNatsBus({ cfg: natsConfig({ NATS_URL: `nats://127.0.0.1:${port}` }), replicaId: 'x', log })).rejects.toThrow(/^NATS_URL=nats:\/\/127\.0\.0\.1:\d+: cannot connect/);
    });

    it('a missing credentials file, and a file that is not a .creds file', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'nats-creds-'));
      await expect(createNatsBus({ cfg: natsConfig({ NATS_URL: nats.url, NATS_CREDS_FILE: path.join(dir, 'none.creds') }), replicaId: 'x', log })).rejects.toThrow(/^NATS_CREDS_FILE=.*none\.creds: cannot read the file \(ENOENT\)/);
      writeFileSync(path.join(dir, 'bad.creds'), 'hello');
      await expect(createNatsBus({ cfg: natsConfig({ NATS_URL: nats.url, NATS_CREDS_FILE: path.join(dir, 'bad.creds') }), replicaId: 'x', log })).rejects.toThrow(/^NATS_CREDS_FILE=.*: not a NATS \.creds file/);
    });

    it('a password refused by a server that requires one, while the right one from a file connects', async () => {
      const secured = await startNatsServer(bin!, ['--user', 'chat', '--pass', 's3cret-pass']);
      try {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'nats-pass-'));
        writeFileSync(path.join(dir, 'good'), 's3cret-pass\n');
        writeFileSync(path.join(dir, 'bad'), 'wrong\n');
        await expect(createNatsBus({ cfg: natsConfig({ NATS_URL: secured.url, NATS_USER: 'chat', NATS_PASSWORD_FILE: path.join(dir, 'bad') }), replicaId: 'x', log })).rejects.toThrow(/^NATS_USER, NATS_PASSWORD_FILE: NATS at .* refused the credentials/);
        const ok = await createNatsBus({ cfg: natsConfig({ NATS_URL: secured.url, NATS_USER: 'chat', NATS_PASSWORD_FILE: path.join(dir, 'good') }), replicaId: 'x', log });
        open.push(ok);
        const rx = record(ok);
        const peer = await createNatsBus({ cfg: natsConfig({ NATS_URL: secured.url, NATS_USER: 'chat', NATS_PASSWORD: 's3cret-pass' }), replicaId: 'y', log });
        open.push(peer);
        const conv = randomUUID();
        ok.watch(conv);
        // the subscription reaches the server on ok's own connection: publish until heard
        await untilHearing(peer, rx, conv);
      } finally {
        await secured.stop();
      }
    });
  });
});

export type { BusEvent };
