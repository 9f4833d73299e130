import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

describe('logger', () => {
  it('redacts token, authorization and body fields even when logged wholesale', async () => {
    let out = '';
    const sink = new Writable({ write(c, _e, cb) { out += c.toString(); cb(); } });
    const log = createLogger('info', sink);
    log.info({ token: 'eyJhbGciOi.eyJzdWIi.sig', headers: { authorization: 'Bearer abc' }, frame: { content: 'my secret message', body: 'x' } }, 'oops');
    await new Promise((r) => setImmediate(r));
    expect(out).not.toContain('eyJ');
    expect(out).not.toContain('Bearer abc');
    expect(out).not.toContain('my secret message');
    expect(JSON.parse(out)).toMatchObject({ level: 'info', msg: 'oops', token: '[redacted]' });
  });
});
