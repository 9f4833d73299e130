// The current_time tool. Time comes from ctx.now() so a run is reproducible in tests; zones are
// validated by Intl itself, which also canonicalises the spelling ("europe/paris" → "Europe/Paris").
import { z } from 'zod';
import { defineTool, ToolError } from './tool.js';

export function resolveTimeZone(name: string): string {
  // Intl accepts odd inputs in some ICU versions; only IANA-shaped names are worth trying.
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(name)) throw new ToolError(`unknown time zone '${name}' (use an IANA name such as Europe/Paris)`);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch (err) {
    if (err instanceof RangeError) throw new ToolError(`unknown time zone '${name}' (use an IANA name such as Europe/Paris)`);
    throw err;
  }
}

// "+09:00" for the zone's offset at that instant (DST-aware), from Intl's "GMT+09:00" form.
export function utcOffset(date: Date, timeZone: string): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{1,2})(?::?(\d{2}))?/.exec(part);
  if (!m) return '+00:00';
  return `${m[1]}${m[2]!.padStart(2, '0')}:${m[3] ?? '00'}`;
}

function offsetMinutes(offset: string): number {
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h, m] = offset.slice(1).split(':').map(Number);
  return sign * (h! * 60 + m!);
}

// ISO 8601 local time with the zone's offset, e.g. 2025-01-02T12:04:05.000+09:00.
export function isoInZone(date: Date, timeZone: string): string {
  const offset = utcOffset(date, timeZone);
  const shifted = new Date(date.getTime() + offsetMinutes(offset) * 60_000);
  return shifted.toISOString().replace('Z', offset === '+00:00' ? 'Z' : offset);
}

export const currentTimeTool = defineTool({
  name: 'current_time',
  description: 'Get the current date and time, in UTC or in a given IANA time zone.',
  schema: z.object({
    timezone: z.string().trim().min(1).max(64).optional().describe('IANA time zone name such as "Europe/Paris"; UTC when omitted'),
  }),
  async execute({ timezone }, ctx) {
    const zone = resolveTimeZone(timezone ?? 'UTC');
    const now = ctx.now();
    if (Number.isNaN(now.getTime())) throw new ToolError('the clock returned an invalid date');
    return {
      timezone: zone,
      iso: isoInZone(now, zone),
      utc: now.toISOString(),
      utc_offset: utcOffset(now, zone),
      human: new Intl.DateTimeFormat('en-US', { timeZone: zone, dateStyle: 'full', timeStyle: 'long' }).format(now),
    };
  },
});
