import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

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
