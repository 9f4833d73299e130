import { describe, expect, it } from 'vitest';
import { MessageJson } from '../protocol/rest.js';
import { messageJson, wireMessage, type Message } from './message.js';

const m: Message = {
  id: '00000000-0000-4000-8000-000000000001', conversation_id: '00000000-0000-4000-8000-000000000002', seq: 7, role: 'assistant',
  status: 'complete', content: 'hi', client_msg_id: null, run_id: '00000000-0000-4000-8000-000000000003', user_id: 'u1',
  metadata: { a: 1 }, created_at: new Date('2026-01-02T03:04:05.678Z'), updated_at: new Date('2026-01-02T03:04:06.000Z'),
};

describe('message projections', () => {
  it('the WebSocket frame carries exactly the wire fields, dates as ISO strings', () => {
    expect(wireMessage(m)).toStrictEqual({
      id: m.id, seq: 7, role: 'assistant', status: 'complete', content: 'hi', client_msg_id: null, run_id: m.run_id, user_id: 'u1',
      created_at: '2026-01-02T03:04:05.678Z',
    });
  });

  it('the REST body carries exactly the fields MessageJson declares, and passes its schema', () => {
    const j = messageJson(m);
    expect(j).toStrictEqual({
      id: m.id, conversation_id: m.conversation_id, seq: 7, role: 'assistant', status: 'complete', content: 'hi', client_msg_id: null,
      run_id: m.run_id, metadata: { a: 1 }, created_at: '2026-01-02T03:04:05.678Z', updated_at: '2026-01-02T03:04:06.000Z',
    });
    expect(MessageJson.strict().safeParse(j).success).toBe(true);
  });
});
