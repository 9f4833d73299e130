// Message content over the WebSocket: stored exactly as sent, or refused with an error
// frame that names the field and carries the refused message's client_msg_id.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';

const { s, tdb } = useServer('ws-content', { AGENT: 'none' }, 'wscontent');
let tok: string;

beforeAll(async () => {
  tok = await token('alice');
});

async function stored(conv: string): Promise<string[]> {
  const rows = await tdb.db.sql<{ content: string }[]>`SELECT content FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
  return rows.map((r) => r.content);
}

describe('message content', () => {
  for (const [what, content, message] of [
    ['an unpaired surrogate', 'hi \uD800 there', /surrogate/],
    ['only whitespace', ' \n\t ', /non-whitespace/],
    ['NUL', 'a\u0000b', /NUL/],
  ] as const) {
    it(`refuses ${what} with an error naming the field and the client_msg_id, storing nothing`, async () => {
      const conv = await createConversation(s.url, tok);
      const { sock } = await connectReady(s.url, conv, tok);
      const id = randomUUID();
      sock.send({ type: 'message', client_msg_id: id, content });
      const err = await sock.type('error');
      expect(err.client_msg_id).toBe(id);
      expect(err.code).toBe('invalid_request');
      expect(err.issues[0].path).toBe('frame.content');
      expect(err.issues[0].message).toMatch(message);
      // The socket stays usable, and the next good message is the conversation's first.
      const ok = randomUUID();
      sock.send({ type: 'message', client_msg_id: ok, content: 'fine' });
      expect(await sock.type('ack')).toMatchObject({ client_msg_id: ok, seq: 1 });
      expect(await stored(conv)).toEqual(['fine']);
      sock.close();
    });
  }

  it('keeps content intact: surrounding whitespace and emoji are stored as sent', async () => {
    const conv = await createConversation(s.url, tok);
    const { sock } = await connectReady(s.url, conv, tok);
    const content = '  indented\n\tcode \uD83D\uDE00  \n';
    sock.send({ type: 'message', client_msg_id: randomUUID(), content });
    await sock.type('ack');
    expect(await stored(conv)).toEqual([content]);
    sock.close();
  });
});
