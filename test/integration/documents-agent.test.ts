// The agents' search_documents tool over real WebSockets: the built-in agent finds the user's
// document and cites its title; documents attached to another conversation stay out of it.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { bearer, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';

const CORPUS = path.resolve(import.meta.dirname, '../fixtures/documents');
const { s } = useServer('documents-agent', { AGENT_TOKEN_DELAY_MS: '0' }, 'docsagent');
let alice: string;

beforeAll(async () => {
  alice = await token('alice');
});

async function upload(title: string, file: string, conversationId?: string): Promise<void> {
  const res = await fetch(`${s.url}/api/v1/documents`, {
    method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' },
    body: JSON.stringify({ title, content: readFileSync(path.join(CORPUS, file), 'utf8'), content_type: 'text/markdown', ...(conversationId ? { conversation_id: conversationId } : {}) }),
  });
  expect(res.status).toBe(201);
}

async function ask(conv: string, content: string) {
  const { sock } = await connectReady(s.url, conv, alice);
  sock.send({ type: 'message', client_msg_id: randomUUID(), content });
  const done = await sock.type('response.completed', 0, 15_000);
  const call = sock.ofType('tool.call')[0];
  const result = sock.ofType('tool.result')[0];
  sock.close();
  return { done, call, result };
}

describe('search_documents in a run', () => {
  it('the built-in agent searches the documents and cites the title', async () => {
    await upload('Router manual', 'router-setup.md');
    await upload('Bread notes', 'sourdough.md');
    const conv = await createConversation(s.url, alice);
    const { done, call, result } = await ask(conv, 'Search my documents for how to reset the router password');
    expect(call).toMatchObject({ name: 'search_documents', arguments: { query: 'how to reset the router password' } });
    expect(result).toMatchObject({ status: 'succeeded' });
    expect(result!.result.hits[0].title).toBe('Router manual');
    expect(done.content).toMatch(/^From your documents \(“Router manual”/);
    expect(done.content).toContain('hold the reset button');
  });

  it('a document attached to another conversation is not searched', async () => {
    const a = await createConversation(s.url, alice);
    const b = await createConversation(s.url, alice);
    await upload('Marathon plan', 'marathon-training.md', a);
    const inA = await ask(a, 'what do my notes say about tapering before the race?');
    expect(inA.result!.result.hits.map((h: { title: string }) => h.title)).toContain('Marathon plan');
    const inB = await ask(b, 'what do my notes say about tapering before the race?');
    expect(inB.result!.result.hits.map((h: { title: string }) => h.title)).not.toContain('Marathon plan');
  });
});
