// AI SDK's UI message stream served from our runs, read by the real `ai` client
// (DefaultChatTransport, readUIMessageStream): send, resume on the other replica, stop
// across replicas, Last-Event-ID, and the bad-input cases, on two server processes.
import { beforeAll, describe, expect, it } from 'vitest';
import { onOneConnection } from '../helpers/raw-http.js';
import { useServers } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';
import { assemble, deltaText, readChunks, sseEvents, textOf, transport, userMessage } from '../helpers/ui-chat.js';
import { createConversation } from '../helpers/ws-client.js';

const { servers: [a, b], tdb } = useServers(['ui-a', 'ui-b'], { AGENT_TOKEN_DELAY_MS: '25' }, 'uistream');
let alice: string;
let mallory: string;

const LONG = 'Describe a long walk through an old forest at dawn';

beforeAll(async () => {
  alice = await token('alice');
  mallory = await token('mallory');
});

async function answerOf(conv: string): Promise<{ content: string; status: string; run_id: string }> {
  const rows = await tdb.db.sql<{ content: string; status: string; run_id: string }[]>`
    SELECT content, status, run_id FROM messages WHERE conversation_id = ${conv} AND role = 'assistant' ORDER BY seq DESC LIMIT 1`;
  return rows[0]!;
}

async function messageCount(conv: string): Promise<number> {
  return (await tdb.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ${conv}`)[0]!.n;
}

async function streaming(conv: string): Promise<boolean> {
  return (await tdb.db.sql`SELECT 1 FROM messages WHERE conversation_id = ${conv} AND status = 'streaming'`).length > 0;
}

describe('UI message stream (AI SDK useChat protocol)', () => {
  it('streams a full answer with a tool call: parts in order, text equal to the stored answer; a resend stores nothing new', async () => {
    const conv = await createConversation(a.url, alice);
    const t = transport(a.url, alice);
    const msg = userMessage('What is 2^10?');
    const chunks = await readChunks(await t.sendMessages({ chatId: conv, messages: [msg], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }));
    const types: string[] = chunks.map((c) => c.type);
    expect(types[0]).toBe('start');
    expect(types[1]).toBe('start-step');
    const order = ['reasoning-start', 'tool-input-start', 'tool-input-available', 'tool-output-available', 'text-start', 'text-delta', 'text-end', 'finish'];
    const firsts = order.map((ty) => types.indexOf(ty));
    expect(firsts.every((i) => i >= 0)).toBe(true);
    expect([...firsts].sort((x, y) => x - y)).toEqual(firsts);
    expect(types.at(-1)).toBe('finish');
    const message = await assemble(chunks);
    const stored = await answerOf(conv);
    expect(stored.status).toBe('complete');
    expect(stored.content).toContain('1024');
    expect(textOf(message)).toBe(stored.content);
    const tool = message!.parts.find((p) => p.type === 'dynamic-tool') as { toolName: string; state: string; output: unknown } | undefined;
    expect(tool?.toolName).toBe('calculator');
    expect(tool?.state).toBe('output-available');
    expect(message!.parts.map((p) => p.type).filter((p) => p !== 'reasoning')).toEqual(['step-start', 'dynamic-tool', 'step-start', 'text']);
    const user = await tdb.db.sql<{ content: string; metadata: { ui_message_id: string } }[]>`SELECT content, metadata FROM messages WHERE conversation_id = ${conv} AND role = 'user'`;
    expect(user).toHaveLength(1);
    expect(user[0]!.content).toBe('What is 2^10?');
    expect(user[0]!.metadata.ui_message_id).toBe(msg.id);

    // The same message again (a retry): no second row, no second run; the stored answer is replayed.
    const again = await assemble(await readChunks(await t.sendMessages({ chatId: conv, messages: [msg], trigger: 'submit-message', messageId: undefined, abortSignal: undefined })));
    expect(textOf(again)).toBe(stored.content);
    expect(await messageCount(conv)).toBe(2);
    // Nothing is streaming now: resume answers 204, which the client reads as null.
    expect(await t.reconnectToStream({ chatId: conv })).toBeNull();
  });

  it('resumes on the other replica after the connection dropped mid-answer: the stored text, nothing repeated or missing', async () => {
    const conv = await createConversation(a.url, alice);
    const ac = new AbortController();
    const first = await readChunks(
      await transport(a.url, alice).sendMessages({ chatId: conv, messages: [userMessage(LONG)], trigger: 'submit-message', messageId: undefined, abortSignal: ac.signal }),
      (cs) => deltaText(cs).length > 40,
    );
    ac.abort();
    const before = deltaText(first);
    expect(await streaming(conv)).toBe(true);
    const resumed = await transport(b.url, alice).reconnectToStream({ chatId: conv });
    expect(resumed).not.toBeNull();
    const chunks = await readChunks(resumed!);
    expect(chunks[0]!.type).toBe('start');
    expect(chunks.at(-1)!.type).toBe('finish');
    const message = await assemble(chunks);
    const stored = await answerOf(conv);
    expect(stored.status).toBe('complete');
    expect(textOf(message)).toBe(stored.content);
    expect(deltaText(chunks)).toBe(stored.content);
    expect(stored.content.startsWith(before)).toBe(true);
  });

  it('HEAD of the resume stream while an answer streams: the stream\'s status and headers, no body, and the connection answers its next request', async () => {
    const conv = await createConversation(a.url, alice);
    const ac = new AbortController();
    await readChunks(
      await transport(a.url, alice).sendMessages({ chatId: conv, messages: [userMessage(LONG)], trigger: 'submit-message', messageId: undefined, abortSignal: ac.signal }),
      (cs) => deltaText(cs).length > 10,
    );
    expect(await streaming(conv)).toBe(true);
    const [head, health] = await onOneConnection(b.port, [
      `HEAD /api/v1/chat/${conv}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\n\r\n`,
      'GET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    expect(await streaming(conv)).toBe(true); // the HEAD was answered mid-stream, not after it
    expect(head!.status).toBe(200);
    expect(head!.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(head!.headers['x-vercel-ai-ui-message-stream']).toBe('v1');
    expect(head!.headers['content-length']).toBeUndefined();
    expect(JSON.parse(health!.body).status).toBe('ok');
    ac.abort();
  });

  it('continues from Last-Event-ID on the other replica: the text before and after the id is the stored answer exactly', async () => {
    const conv = await createConversation(a.url, alice);
    const ac = new AbortController();
    const res = await fetch(`${a.url}/api/v1/chat`, {
      method: 'POST', signal: ac.signal, headers: { ...bearer(alice), 'content-type': 'application/json' },
      body: JSON.stringify({ id: conv, messages: [userMessage(LONG)], trigger: 'submit-message' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let text = '';
    let lastId: string | undefined;
    for await (const ev of sseEvents(res)) {
      const chunk = JSON.parse(ev.data) as { type: string; delta?: string };
      if (chunk.type === 'text-delta') text += chunk.delta;
      lastId = ev.id;
      if (text.length > 30) break;
    }
    ac.abort();
    expect(lastId).toBe(`${/^\d+/.exec(lastId!)![0]}:${text.length}`);
    const again = await fetch(`${b.url}/api/v1/chat/${conv}/stream`, { headers: { ...bearer(alice), 'last-event-id': lastId! } });
    expect(again.status).toBe(200);
    const types: string[] = [];
    for await (const ev of sseEvents(again)) {
      if (ev.data === '[DONE]') break;
      const chunk = JSON.parse(ev.data) as { type: string; delta?: string };
      types.push(chunk.type);
      if (chunk.type === 'text-delta') text += chunk.delta;
    }
    expect(types).not.toContain('start');
    expect(types.at(-1)).toBe('finish');
    const stored = await answerOf(conv);
    expect(stored.status).toBe('complete');
    expect(text).toBe(stored.content);
  });

  it('stops the run from the other replica: the stream ends with abort, a later resume streams nothing, the stored answer is the stopped one', async () => {
    const conv = await createConversation(a.url, alice);
    const sent = await transport(a.url, alice).sendMessages({ chatId: conv, messages: [userMessage(LONG)], trigger: 'submit-message', messageId: undefined, abortSignal: undefined });
    const reader = sent.getReader();
    const chunks: Awaited<ReturnType<typeof readChunks>> = [];
    while (deltaText(chunks).length < 20) chunks.push((await reader.read()).value!);
    const stop = await fetch(`${b.url}/api/v1/chat/${conv}/stream`, { method: 'DELETE', headers: bearer(alice) });
    expect(stop.status).toBe(204);
    const stored = await answerOf(conv);
    expect(stored.status).toBe('cancelled');
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      chunks.push(r.value);
    }
    expect(chunks.at(-1)!.type).toBe('abort');
    expect(textOf(await assemble(chunks))).toBe(stored.content);
    expect(stored.content.length).toBeGreaterThan(0);
    expect(await transport(b.url, alice).reconnectToStream({ chatId: conv })).toBeNull();
    expect(await transport(a.url, alice).reconnectToStream({ chatId: conv })).toBeNull();
    expect((await answerOf(conv)).content).toBe(stored.content);
  });

  it('answers 404 alike for an unknown or foreign conversation and 400 naming the field for a malformed body, storing nothing', async () => {
    const conv = await createConversation(a.url, alice);
    const post = (tok: string, body: unknown) => fetch(`${a.url}/api/v1/chat`, { method: 'POST', headers: { ...bearer(tok), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknown = await post(alice, { id: '00000000-0000-4000-8000-000000000000', messages: [userMessage('hi')], trigger: 'submit-message' });
    const foreign = await post(mallory, { id: conv, messages: [userMessage('hi')], trigger: 'submit-message' });
    expect(unknown.status).toBe(404);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual(await unknown.json());
    for (const path of [`/api/v1/chat/${conv}/stream`]) {
      for (const method of ['GET', 'DELETE']) {
        const r = await fetch(`${b.url}${path}`, { method, headers: bearer(mallory) });
        expect(r.status).toBe(404);
        expect((await r.json()).error.code).toBe('conversation_not_found');
      }
    }
    const cases: [unknown, string][] = [
      [{ messages: [userMessage('hi')] }, 'body.id'],
      [{ id: conv }, 'body.messages'],
      [{ id: conv, messages: [] }, 'body.messages'],
      [{ id: conv, messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }] }, 'body.messages.0.id'],
      [{ id: conv, messages: [{ id: 'x', role: 'assistant', parts: [{ type: 'text', text: 'hi' }] }] }, 'body.messages.0.role'],
      [{ id: conv, messages: [{ id: 'x', role: 'user', parts: [{ type: 'file', url: 'data:,' }] }] }, 'body.messages.0.parts'],
      [{ id: conv, messages: [userMessage('hi')], trigger: 'bogus' }, 'body.trigger'],
    ];
    for (const [body, field] of cases) {
      const r = await post(alice, body);
      expect(r.status, field).toBe(400);
      const err = (await r.json()) as { error: { issues: { path: string }[]; message: string } };
      expect(err.error.issues.map((i) => i.path)).toContain(field);
      expect(err.error.message).toContain(field);
    }
    expect(await messageCount(conv)).toBe(0);
    expect((await fetch(`${a.url}/api/v1/chat/${conv}/stream`, { headers: bearer(alice) })).status).toBe(204);
  });
});
