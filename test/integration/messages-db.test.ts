// The message insert against a real PostgreSQL: gap-free seq under concurrency and
// idempotency by client_msg_id, including racing retries.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { insertConversation } from '../../src/db/conversations.js';
import { insertMessage } from '../../src/db/messages.js';
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
