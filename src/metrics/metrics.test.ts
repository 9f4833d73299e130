import { describe, expect, it } from 'vitest';
import { busMetrics, createMetrics } from './metrics.js';

const framesOut = async (m: ReturnType<typeof createMetrics>, type: string) => {
  const text = await m.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`chat_ws_frames_total{direction="out",type="${type}"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('frames sent, tallied per type', () => {
  it('reaches the counter at each scrape, once', async () => {
    const m = createMetrics();
    for (let i = 0; i < 5; i++) m.wsFramesOut('response.delta').inc();
    m.wsFramesOut('ack').inc();
    expect(await framesOut(m, 'response.delta')).toBe(5);
    expect(await framesOut(m, 'ack')).toBe(1);
    // a second scrape without new frames adds nothing
    expect(await framesOut(m, 'response.delta')).toBe(5);
    m.wsFramesOut('response.delta').inc();
    expect(await framesOut(m, 'response.delta')).toBe(6);
  });
});

describe('bus metrics', () => {
  const sample = async (m: ReturnType<typeof createMetrics>, prefix: string) => {
    const line = (await m.registry.metrics()).split('\n').find((l) => l.startsWith(prefix));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('count events per bus and kind at each scrape, and observe lag once per bus message', async () => {
    const m = createMetrics();
    const pg = busMetrics(m, 'postgres');
    const nats = busMetrics(m, 'nats');
    for (let i = 0; i < 4; i++) pg.received('response.delta');
    pg.received('run.started');
    nats.received('response.delta');
    pg.published('response.delta');
    pg.lag(12);
    expect(await sample(m, 'chat_bus_received_total{bus="postgres",kind="response.delta"}')).toBe(4);
    expect(await sample(m, 'chat_bus_received_total{bus="postgres",kind="run.started"}')).toBe(1);
    expect(await sample(m, 'chat_bus_received_total{bus="nats",kind="response.delta"}')).toBe(1);
    expect(await sample(m, 'chat_bus_published_total{bus="postgres",kind="response.delta"}')).toBe(1);
    expect(await sample(m, 'chat_bus_lag_seconds_count{bus="postgres"}')).toBe(1);
    expect(await sample(m, 'chat_bus_lag_seconds_sum{bus="postgres"}')).toBeCloseTo(0.012);
    // a second scrape adds nothing that was not counted since
    pg.received('response.delta');
    expect(await sample(m, 'chat_bus_received_total{bus="postgres",kind="response.delta"}')).toBe(5);
  });
});
