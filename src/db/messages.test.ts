import { describe, expect, it } from 'vitest';
import { messageFromRow } from './messages.js';

describe('messageFromRow', () => {
  const base = {
    id: 'm', conversation_id: 'c', role: 'user' as const, status: 'complete' as const, content: 'x', client_msg_id: null, run_id: null,
    user_id: 'u', metadata: {},
  };

  it('maps a row as the driver returns it (int8 seq as a string, dates as Date)', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const m = messageFromRow({ ...base, seq: '12', created_at: at, updated_at: at });
    expect(m.seq).toBe(12);
    expect(m.created_at.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('maps a row read through to_jsonb (dates as strings with microseconds)', () => {
    const m = messageFromRow({ ...base, seq: 3, created_at: '2026-01-02T03:04:05.678901+00:00', updated_at: '2026-01-02T03:04:06+00:00' });
    expect(m.seq).toBe(3);
    expect(m.created_at).toBeInstanceOf(Date);
    expect(m.created_at.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(m.updated_at.toISOString()).toBe('2026-01-02T03:04:06.000Z');
  });
});
