// Human-in-the-loop tool approval across replicas: a run on A pauses at an `ask` tool,
// the UI stream (real `ai` client) shows tool-approval-request, and the owner answers from
// a second tab on B (WebSocket) or over HTTP; another user cannot; the timeout denies.
import type { UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, bearer, token } from '../helpers/tokens.js';
import { assemble, readChunks, textOf, transport, userMessage } from '../helpers/ui-chat.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';

let tdb: TestDatabase & { db: Db };
let a: ServerProcess;
let b: ServerProcess;
let quick: ServerProcess;
let alice: string;
let mallory: string;
let env: Record<string, string>;

beforeAll(async () => {
  tdb = await createMigratedDatabase('approval');
  env = { ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '5', TOOL_APPROVAL: 'calculator=ask,current_time=never' };
  [a, b, quick] = await Promise.all([
    startServer(env, 'approval-a'),
    startServer(env, 'approval-b'),
    startServer({ ...env, TOOL_APPROVAL_TIMEOUT_MS: '700' }, 'approval-quick'),
  ]);
  alice = await token('alice');
  mallory = await token('mallory');
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), quick?.stop()]);
  await tdb?.drop();
});

interface Row { status: string; approval: string | null; approval_reason: string | null; decided_by: string | null; decided_at: Date | null; approval_note: string | null }

async function toolRow(conv: string, name = 'calculator'): Promise<Row> {
  const rows = await toolRows(conv, name);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function toolRows(conv: string, name = 'calculator'): Promise<(Row & { carried_to: string | null; id: string })[]> {
  return tdb.db.sql<(Row & { carried_to: string | null; id: string })[]>`
    SELECT id, status, approval, approval_reason, decided_by, decided_at, approval_note, carried_to FROM tool_calls
     WHERE conversation_id = ${conv} AND name = ${name} ORDER BY started_at`;
}

// Sends on `on` and reads up to the approval request; returns the rest as a promise.
async function sendUntilApproval(on: ServerProcess, conv: string, text: string): Promise<{ approvalId: string; head: UIMessageChunk[]; rest: Promise<UIMessageChunk[]> }> {
  const stream = await transport(on.url, alice).sendMessages({ chatId: conv, messages: [userMessage(text)], trigger: 'submit-message', messageId: undefined, abortSignal: undefined });
  const [x, y] = stream.tee();
  const rest = readChunks(y);
  const head = await readChunks(x, (cs) => cs.some((c) => c.type === 'tool-approval-request'));
  const req = head.find((c) => c.type === 'tool-approval-request') as { approvalId: string };
  return { approvalId: req.approvalId, head, rest };
}

describe('tool approval', () => {
  it('is granted from a second tab on the other replica; the paused run goes on and the decision is stored with who and when', async () => {
    const conv = await createConversation(a.url, alice);
    const { approvalId, rest } = await sendUntilApproval(a, conv, 'What is 2^10?');
    expect((await toolRow(conv)).status).toBe('awaiting_approval');
    // The second tab joins on B after the request was made: it is shown the pending approval.
    const tab = await connectReady(b.url, conv, alice);
    const shown = await tab.sock.type('tool.approval_request');
    expect(shown).toMatchObject({ approval_id: approvalId, name: 'calculator', arguments: { expression: '2^10' } });
    // A note PostgreSQL cannot store is refused naming the field, and decides nothing.
    tab.sock.send({ type: 'deny', approval_id: approvalId, reason: 'no\u0000' });
    const refused = await tab.sock.type('error');
    expect(refused.code).toBe('invalid_request');
    expect(refused.issues[0]).toMatchObject({ path: 'frame.reason', message: 'must not contain NUL characters' });
    expect((await toolRow(conv)).status).toBe('awaiting_approval');
    tab.sock.send({ type: 'approve', approval_id: approvalId });
    expect(await tab.sock.type('tool.approval_result')).toMatchObject({ approval_id: approvalId, decision: 'approved', reason: 'user', decided_by: 'alice' });
    const chunks = await rest;
    const types = chunks.map((c) => c.type);
    expect(types.indexOf('tool-approval-request')).toBeLessThan(types.indexOf('tool-output-available'));
    expect(types.at(-1)).toBe('finish');
    const message = await assemble(chunks);
    expect(textOf(message)).toContain('1024');
    const row = await toolRow(conv);
    expect(row).toMatchObject({ status: 'succeeded', approval: 'approved', approval_reason: 'user', decided_by: 'alice' });
    expect(row.decided_at).toBeInstanceOf(Date);
    // A second answer to a decided approval is refused, and changes nothing.
    tab.sock.send({ type: 'deny', approval_id: approvalId });
    await tab.sock.waitFor((f) => f.type === 'error' && f.code === 'conflict');
    expect((await toolRow(conv)).approval).toBe('approved');
    tab.sock.close();
  });

  it('is denied over HTTP on the other replica (after another user got 404 and changed nothing); the tool never runs', async () => {
    const conv = await createConversation(a.url, alice);
    const { approvalId, rest } = await sendUntilApproval(a, conv, 'What is 6*7?');
    const decide = (tok: string, c: string, body: unknown) => fetch(`${b.url}/api/v1/conversations/${c}/approvals/${approvalId}`, {
      method: 'POST', headers: { ...bearer(tok), 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const foreign = await decide(mallory, conv, { approved: true });
    expect(foreign.status).toBe(404);
    const unknown = await fetch(`${b.url}/api/v1/conversations/${conv}/approvals/00000000-0000-4000-8000-000000000000`, {
      method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify({ approved: true }),
    });
    expect(unknown.status).toBe(404);
    expect(await foreign.json()).toEqual(await unknown.json());
    const bad = await decide(alice, conv, { approved: 'yes' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('body.approved');
    for (const [reason, message] of [['no\u0000', 'must not contain NUL characters'], ['no \uD800', 'must not contain unpaired UTF-16 surrogates (not valid Unicode)']]) {
      const unstorable = await decide(alice, conv, { approved: false, reason });
      expect(unstorable.status).toBe(400);
      expect((await unstorable.json()).error.issues[0]).toEqual({ path: 'body.reason', message });
    }
    expect((await toolRow(conv)).approval).toBe('pending');

    const ok = await decide(alice, conv, { approved: false, reason: 'not now' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ approval_id: approvalId, state: 'denied', reason: 'user', note: 'not now', decided_by: 'alice' });
    const chunks = await rest;
    expect(chunks.map((c) => c.type)).toContain('tool-output-denied');
    expect(chunks.map((c) => c.type)).not.toContain('tool-output-available');
    expect(chunks.at(-1)!.type).toBe('finish');
    expect(textOf(await assemble(chunks))).toContain('denied by the user');
    expect(await toolRow(conv)).toMatchObject({ status: 'denied', approval: 'denied', approval_reason: 'user', approval_note: 'not now', decided_by: 'alice' });
  });

  it('is denied when nobody answers in time, and a `never` tool is denied by policy without asking', async () => {
    const conv = await createConversation(quick.url, alice);
    const { rest } = await sendUntilApproval(quick, conv, 'What is 3+4?');
    const chunks = await rest;
    expect(chunks.map((c) => c.type)).toContain('tool-output-denied');
    expect(textOf(await assemble(chunks))).toContain('not approved in time');
    expect(await toolRow(conv)).toMatchObject({ status: 'denied', approval: 'denied', approval_reason: 'timeout', decided_by: null });

    const conv2 = await createConversation(a.url, alice);
    const never = await readChunks(await transport(a.url, alice).sendMessages({ chatId: conv2, messages: [userMessage('What time is it?')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }));
    const types = never.map((c) => c.type);
    expect(types).not.toContain('tool-approval-request');
    expect(types).toContain('tool-output-denied');
    expect(await toolRow(conv2, 'current_time')).toMatchObject({ status: 'denied', approval: 'denied', approval_reason: 'policy' });
  });

  it('stays pending across a restart of the replica running it: a client joining later sees it, and approving it continues the conversation', async () => {
    const conv = await createConversation(a.url, alice);
    const { approvalId, rest } = await sendUntilApproval(a, conv, 'What is 5*5?');
    await a.stop();
    const ended = await rest;
    expect(ended.at(-1)!.type).toBe('error'); // interrupted: the server stopped
    const answer = await tdb.db.sql<{ status: string }[]>`SELECT status FROM messages WHERE conversation_id = ${conv} AND role = 'assistant'`;
    expect(answer.map((m) => m.status)).toEqual(['interrupted']);
    expect((await toolRow(conv)).approval).toBe('pending');

    a = await startServer(env, 'approval-a-restarted');
    const tab = await connectReady(a.url, conv, alice);
    expect(await tab.sock.type('tool.approval_request')).toMatchObject({ approval_id: approvalId, name: 'calculator', arguments: { expression: '5*5' } });
    tab.sock.send({ type: 'approve', approval_id: approvalId });
    expect(await tab.sock.type('tool.approval_result')).toMatchObject({ approval_id: approvalId, decision: 'approved', decided_by: 'alice' });
    const done = await tab.sock.type('response.completed', 0, 20_000);
    expect(done.content).toContain('25');
    const rows = await toolRows(conv);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ approval: 'approved', approval_reason: 'user', decided_by: 'alice', carried_to: rows[1]!.id });
    expect(rows[1]).toMatchObject({ status: 'succeeded', approval: 'approved', decided_by: 'alice' });
    tab.sock.close();
  });

  it('is denied by the timeout even when the replica that asked restarted meanwhile', async () => {
    const conv = await createConversation(quick.url, alice);
    const { rest } = await sendUntilApproval(quick, conv, 'What is 8*8?');
    await quick.stop();
    await rest;
    quick = await startServer({ ...env, TOOL_APPROVAL_TIMEOUT_MS: '700' }, 'approval-quick-restarted');
    await expect.poll(async () => (await toolRow(conv)).approval, { timeout: 15_000 }).toBe('denied');
    expect(await toolRow(conv)).toMatchObject({ status: 'denied', approval_reason: 'timeout', decided_by: null });
  });
});
