import { describe, expect, it } from 'vitest';
import { Closers } from './closers.js';
import { createLogger } from './log.js';

describe('Closers', () => {
  it('releases newest first, each once, and goes on past a closer that fails', async () => {
    const closers = new Closers();
    const order: string[] = [];
    closers.add('pool', () => order.push('pool'));
    closers.add('lease', async () => {
      order.push('lease');
      throw new Error('connection gone');
    });
    closers.add('listener', async () => void order.push('listener'));
    await closers.closeAll(createLogger('silent'));
    expect(order).toEqual(['listener', 'lease', 'pool']);
    await closers.closeAll(createLogger('silent'));
    expect(order, 'a closer ran twice').toHaveLength(3);
  });
});
