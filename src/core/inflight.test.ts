import { describe, expect, it } from 'vitest';
import { Inflight } from './inflight.js';

describe('Inflight', () => {
  it('resolves idle when the last request ends', async () => {
    const f = new Inflight();
    f.begin();
    f.begin();
    const idle = f.idle(1000);
    f.end();
    f.end();
    expect(await idle).toBe(true);
  });

  it('reports a timeout when work never ends', async () => {
    const f = new Inflight();
    f.begin();
    expect(await f.idle(20)).toBe(false);
  });
});
