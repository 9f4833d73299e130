// Conversations and messages over HTTP: CRUD, newest-first cursor pagination,
// after_seq paging, and ownership — user B sees user A's conversation exactly as a
// missing one.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertMessage } from '../../src/db/messages.js';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';

const { s, tdb } = useServer('conversations', {}, 'conv');
let alice: Record<string, string>;
let bob: Record<string, string>;

async function call(method: string, path: string, who: Record<string, string>, body?: unknown) {
  const res = await fetch(s.url + path, {
    method,
    headers: { ...who, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

beforeAll(async () => {
  alice = bearer(await token('alice'));
  bob = bearer(await token('bob'));
});

describe('conversations', () => {
  it('creates, gets, renames and deletes', async () => {
    const created = await call('POST', '/api/v1/conversations', alice, { title: '  Trip plans ', metadata: { color: 'blue' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Trip plans', metadata: { color: 'blue' }, last_seq: 0 });
    const id = created.body.id as string;

    expect((await call('GET', `/api/v1/conversations/${id}`, alice)).body).toEqual(created.body);

    const renamed = await call('PATCH', `/api/v1/conversations/${id}`, alice, { title: 'Japan' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.title).toBe('Japan');
    expect(Date.parse(renamed.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));

    expect((await call('DELETE', `/api/v1/conversations/${id}`, alice)).status).toBe(204);
    expect((await call('GET', `/api/v1/conversations/${id}`, alice)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/conversations/${id}`, alice)).status).toBe(404);
  });

  it('accepts a POST with no body at all', async () => {
    const r = await call('POST', '/api/v1/conversations', alice);
    expect(r.status).toBe(201);
    expect(r.body.title).toBe('');
  });

  it('lists newest first with a cursor that walks every page exactly once', async () => {
    const user = bearer(await token(`pager-${randomUUID()}`));
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await call('POST', '/api/v1/conversations', user, { title: `c${i}` })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${cursor}`;
      const r = await call('GET', `/api/v1/conversations${q}`, user);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((c: { id: string }) => c.id));
      cursor = r.body.next_cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });

  it('rejects a forged cursor with 400 naming the cursor', async () => {
    const r = await call('GET', '/api/v1/conversations?cursor=bm90LWEtY3Vyc29y', alice);
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].path).toBe('query.cursor');
  });
});

describe('ownership', () => {
  let id: string;
  beforeAll(async () => {
    id = (await call('POST', '/api/v1/conversations', alice, { title: 'private' })).body.id;
    await insertMessage(tdb.db, { conversationId: id, role: 'user', content: 'secret plans', userId: 'alice' });
  });

  it("answers 404 for another user's conversation, identical to a missing one", async () => {
    const missing = randomUUID();
    for (const [method, suffix, body] of [
      ['GET', '', undefined], ['PATCH', '', { title: 'pwned' }], ['DELETE', '', undefined], ['GET', '/messages', undefined],
    ] as const) {
      const theirs = await call(method, `/api/v1/conversations/${id}${suffix}`, bob, body);
      const nothing = await call(method, `/api/v1/conversations/${missing}${suffix}`, bob, body);
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      expect(theirs.body, `${method} ${suffix}`).toEqual(nothing.body);
    }
  });

  it("never lists another user's conversations", async () => {
    const r = await call('GET', '/api/v1/conversations?limit=100', bob);
    expect(r.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
  });

  it("leaves the owner's conversation untouched after the attempts", async () => {
    const r = await call('GET', `/api/v1/conversations/${id}`, alice);
    expect(r.body.title).toBe('private');
    expect((await call('GET', `/api/v1/conversations/${id}/messages`, alice)).body.items[0].content).toBe('secret plans');
  });
});

describe('messages', () => {
  it('pages by after_seq and limit in seq order', async () => {
    const id = (await call('POST', '/api/v1/conversations', alice, { title: 'chatty' })).body.id as string;
    for (let i = 1; i <= 5; i++) {
      await insertMessage(tdb.db, { conversationId: id, role: i % 2 ? 'user' : 'assistant', content: `m${i}`, clientMsgId: randomUUID() });
    }
    const first = await call('GET', `/api/v1/conversations/${id}/messages?limit=2`, alice);
    expect(first.body.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    expect(first.body).toMatchObject({ has_more: true, last_seq: 5 });
    const rest = await call('GET', `/api/v1/conversations/${id}/messages?after_seq=2&limit=10`, alice);
    expect(rest.body.items.map((m: { content: string }) => m.content)).toEqual(['m3', 'm4', 'm5']);
    expect(rest.body.has_more).toBe(false);
    expect(rest.body.items[0]).toMatchObject({ role: 'user', status: 'complete', conversation_id: id });
  });

  it('names the bad query field', async () => {
    const id = (await call('POST', '/api/v1/conversations', alice, {})).body.id as string;
    const r = await call('GET', `/api/v1/conversations/${id}/messages?after_seq=-1&limit=abc`, alice);
    expect(r.status).toBe(400);
    expect(r.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['query.after_seq', 'query.limit']);
  });

  it('refuses a query parameter given twice, naming it, and still serves the single form', async () => {
    const id = (await call('POST', '/api/v1/conversations', alice, {})).body.id as string;
    await insertMessage(tdb.db, { conversationId: id, role: 'user', content: 'm1', clientMsgId: randomUUID() });
    // Schemathesis found the last copy read silently: `after_seq=junk&...&after_seq=` gave 200.
    const r = await call('GET', `/api/v1/conversations/${id}/messages?after_seq=x&limit=5&after_seq=`, alice);
    expect(r.status).toBe(400);
    expect(r.body.error.issues).toEqual([{ path: 'query.after_seq', message: 'given more than once; send it once' }]);
    expect(r.body.error.message).toContain('after_seq');
    const ok = await call('GET', `/api/v1/conversations/${id}/messages?after_seq=0&limit=5`, alice);
    expect(ok.status).toBe(200);
    expect(ok.body.items.map((m: { content: string }) => m.content)).toEqual(['m1']);
  });
});
