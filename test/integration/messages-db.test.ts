// The message insert against a real PostgreSQL: gap-free seq under concurrency and
// idempotency by client_msg_id, including racing retries; an answer's start and end with
// the run's first and last checkpoints written by the same statements.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { insertConversation } from '../../src/db/conversations.js';
import { insertMessage } from '../../src/db/messages.js';
import { appendAnswerChunks, finishAnswer } from '../../src/db/answers.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';

let tdb: TestDatabase & { db: Db };
beforeAll(async () => { tdb = await createMigratedDatabase('msgdb'); });
afterAll(async () => { await tdb?.drop(); });

describe('insertMessage', () => {
  it('keeps seq gap-free under 200 concurrent inserts', async () => {
    const c = await insertConversation(tdb.db, 'u', 't', {});
    await Promise.all(Array.from({ length: 200 }, (_, i) => insertMessage(tdb.db, { conversationId: c.id, role: 'user', content: `m${i}`, clientMsgId: randomUUID() })));
    const rows = await tdb.db.sql<{ seq: string }[]>`SELECT seq FROM messages WHERE conversation_id = ${c.id} ORDER BY seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const [conv] = await tdb.db.sql<{ last_seq: string }[]>`SELECT last_seq FROM conversations WHERE id = ${c.id}`;
    expect(Number(conv!.last_seq)).toBe(200);
  });

  it('stores a client_msg_id once, even when retries race, without burning a seq', async () => {
    const c = await insertConversation(tdb.db, 'u', 't', {});
    const id = randomUUID();
    const outs = await Promise.all(Array.from({ length: 20 }, () => insertMessage(tdb.db, { conversationId: c.id, role: 'user', content: 'once', clientMsgId: id })));
    expect(outs.filter((o) => o.kind === 'created')).toHaveLength(1);
    expect(new Set(outs.map((o) => (o.kind === 'no_conversation' ? '' : o.message.id))).size).toBe(1);
    const next = await insertMessage(tdb.db, { conversationId: c.id, role: 'user', content: 'next', clientMsgId: randomUUID() });
    expect(next.kind === 'created' && next.message.seq).toBe(2);
  });

  it('reports a missing conversation and stores nothing', async () => {
    expect((await insertMessage(tdb.db, { conversationId: randomUUID(), role: 'user', content: 'x' })).kind).toBe('no_conversation');
  });
});

describe('an answer\'s start and end', () => {
  const checkpoints = (runId: string) => tdb.db.sql<{ step: number; kind: string; state: Record<string, unknown> }[]>`
    SELECT step, kind, state FROM agent_checkpoints WHERE run_id = ${runId} ORDER BY step`;

  async function started() {
    const c = await insertConversation(tdb.db, 'u', 't', {});
    const runId = randomUUID();
    const out = await insertMessage(tdb.db, { conversationId: c.id, role: 'assistant', content: '', status: 'streaming', runId }, { step: 0, kind: 'started', state: { agent: 'a' } });
    if (out.kind !== 'created') throw new Error(out.kind);
    return { conv: c.id, runId, id: out.message.id };
  }

  it('stores the started checkpoint with the row, and the last one with the end, once even when the end is retried', async () => {
    const a = await started();
    expect(await checkpoints(a.runId)).toEqual([{ step: 0, kind: 'started', state: { agent: 'a' } }]);
    await appendAnswerChunks(tdb.db, [{ messageId: a.id, offset: 0, text: 'Hel' }]);
    const last = { runId: a.runId, conversationId: a.conv, step: 1, state: { length: 5 } };
    expect(await finishAnswer(tdb.db, a.id, 'Hello', 'complete', { usage: 1 }, last)).toEqual({ changed: true, status: 'complete', content: 'Hello' });
    // the retry after a lost reply: the row is reported as stored, the step is not written twice
    expect(await finishAnswer(tdb.db, a.id, 'Hello', 'complete', { usage: 1 }, last)).toEqual({ changed: false, status: 'complete', content: 'Hello' });
    expect(await checkpoints(a.runId)).toEqual([
      { step: 0, kind: 'started', state: { agent: 'a' } },
      { step: 1, kind: 'complete', state: { length: 5 } },
    ]);
    const [row] = await tdb.db.sql`SELECT status, content, metadata FROM messages WHERE id = ${a.id}`;
    expect(row).toEqual({ status: 'complete', content: 'Hello', metadata: { usage: 1 } });
    expect((await tdb.db.sql`SELECT count(*)::int AS n FROM answer_chunks WHERE message_id = ${a.id}`)[0]!.n).toBe(0);
  });

  it('records lost_<status> when the row had been ended elsewhere, and reports the stored text', async () => {
    const a = await started();
    await tdb.db.sql`UPDATE messages SET status = 'interrupted', content = 'He' WHERE id = ${a.id}`;
    expect(await finishAnswer(tdb.db, a.id, 'Hello', 'complete', {}, { runId: a.runId, conversationId: a.conv, step: 3, state: {} }))
      .toEqual({ changed: false, status: 'interrupted', content: 'He' });
    expect((await checkpoints(a.runId)).map((c) => c.kind)).toEqual(['started', 'lost_interrupted']);
  });

  it('reports a row deleted with its conversation as deleted, without failing', async () => {
    const a = await started();
    await tdb.db.sql`DELETE FROM conversations WHERE id = ${a.conv}`;
    expect(await finishAnswer(tdb.db, a.id, 'Hello', 'complete', {}, { runId: a.runId, conversationId: a.conv, step: 1, state: {} }))
      .toEqual({ changed: false, status: 'deleted', content: '' });
    expect(await checkpoints(a.runId)).toEqual([]);
  });
});
