import { describe, it, expect } from 'vitest';
import type { AgentContext } from '../../core/agent.js';
import { currentTimeTool, isoInZone, resolveTimeZone, utcOffset } from './clock.js';
import { ToolError } from './tool.js';

const ctxAt = (iso: string): AgentContext => ({
  conversationId: 'c', userId: 'u', runId: 'r', signal: new AbortController().signal,
  now: () => new Date(iso),
  searchConversation: async () => { throw new Error('the clock must not search'); },
});

describe('current_time tool', () => {
  it('defaults to UTC and reads the time from ctx.now()', async () => {
    const r = await currentTimeTool.execute({}, ctxAt('2025-01-02T03:04:05Z'));
    expect(r).toEqual({
      timezone: 'UTC',
      iso: '2025-01-02T03:04:05.000Z',
      utc: '2025-01-02T03:04:05.000Z',
      utc_offset: '+00:00',
      human: 'Thursday, January 2, 2025 at 3:04:05 AM UTC',
    });
  });

  it('gives local time with the offset of the zone', async () => {
    const r = await currentTimeTool.execute({ timezone: 'Asia/Tokyo' }, ctxAt('2025-01-02T20:30:00Z'));
    expect(r).toMatchObject({
      timezone: 'Asia/Tokyo',
      iso: '2025-01-03T05:30:00.000+09:00',
      utc_offset: '+09:00',
      human: 'Friday, January 3, 2025 at 5:30:00 AM GMT+9',
    });
  });

  it('follows daylight saving time', async () => {
    const winter = await currentTimeTool.execute({ timezone: 'Europe/Paris' }, ctxAt('2025-01-15T12:00:00Z'));
    const summer = await currentTimeTool.execute({ timezone: 'Europe/Paris' }, ctxAt('2025-07-15T12:00:00Z'));
    expect(winter).toMatchObject({ iso: '2025-01-15T13:00:00.000+01:00' });
    expect(summer).toMatchObject({ iso: '2025-07-15T14:00:00.000+02:00' });
  });

  it('handles negative and half-hour offsets', () => {
    const d = new Date('2025-03-01T00:15:00Z');
    expect(isoInZone(d, 'America/New_York')).toBe('2025-02-28T19:15:00.000-05:00');
    expect(utcOffset(d, 'Asia/Kolkata')).toBe('+05:30');
    expect(isoInZone(d, 'Asia/Kolkata')).toBe('2025-03-01T05:45:00.000+05:30');
  });

  it('canonicalises the spelling of a zone', () => {
    expect(resolveTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(resolveTimeZone('utc')).toBe('UTC');
  });

  it.each(['Mars/Base', 'Not A Zone', 'Europe/Paris; DROP TABLE', ''])('rejects %j with a clear error', (zone) => {
    expect(() => resolveTimeZone(zone)).toThrow(ToolError);
    expect(() => resolveTimeZone(zone)).toThrow(`unknown time zone '${zone}' (use an IANA name such as Europe/Paris)`);
  });

  it('refuses an invalid clock reading instead of printing "Invalid Date"', async () => {
    await expect(currentTimeTool.execute({}, ctxAt('garbage'))).rejects.toThrow('the clock returned an invalid date');
  });
});
