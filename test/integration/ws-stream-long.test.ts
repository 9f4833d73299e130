// Long answers from a streaming model across two replicas, persisted by appending: the
// answer's text while it streams is the stored prefix plus live deltas, a reader of the
// REST API sees the assembled text mid-answer, and the stored answer at the end is the
// streamed one exactly, with no chunk left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type ServerProcess } from '../helpers/server.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { assembleAnswer, connectReady, createConversation } from '../helpers/ws-client.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let tdb: TestDatabase & { db: Db };
let model: ChildProcess;
let a: ServerProcess;
let b: ServerProcess;
let alice: string;

beforeAll(async () => {
  tdb = await createMigratedDatabase('stream_long');
  // The streaming bench's model server: tokens at a steady rate, as many as asked for.
  model = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/stream/fake-model.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    model.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
    model.once('exit', (c) => reject(new Error(`fake model exited ${c}`)));
  });
  const env = { ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT: 'openai', LLM_BASE_URL: `http://127.0.0.1:${port}/v1`, LLM_MODEL: 'bench', CACHE_ENABLED: 'false' };
  [a, b] = await Promise.all([startServer(env, 'long-a'), startServer(env, 'long-b')]);
  alice = await token('alice');
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  model?.kill();
  await tdb?.drop();
});

describe('a 3000-token answer run on A, watched on B', () => {
  it('streams to B exactly, reads back assembled mid-answer, and is stored whole at the end', async () => {
    const conv = await createConversation(a.url, alice);
    const onB = await connectReady(b.url, conv, alice);
    const onA = await connectReady(a.url, conv, alice);
    onA.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'stream tokens=3000 rate=600' });
    // Mid-answer, after a few flushes: the REST API shows the text stored so far.
    const mid = await onB.sock.waitFor((f) => f.type === 'response.delta' && f.offset > 4000, 20_000);
    onA.sock.close(); // the run belongs to the conversation, not to the sender's socket
    let midText = '';
    await expect.poll(async () => {
      const res = await fetch(`${b.url}/api/v1/conversations/${conv}/messages`, { headers: { authorization: `Bearer ${alice}` } });
      const body = (await res.json()) as { items: { id: string; status: string; content: string }[] };
      const answer = body.items.find((m) => m.id === mid.message_id)!;
      midText = answer.content;
      return answer.status === 'streaming' && midText.length > 0;
    }, { timeout: 10_000 }).toBe(true);

    const done = await onB.sock.type('response.completed', 0, 30_000);
    expect(done.content.split('~').length - 1).toBe(3000);
    expect(done.content.startsWith(midText)).toBe(true);
    expect(assembleAnswer(onB.sock.frames, done.run_id)).toBe(done.content);
    const [row] = await tdb.db.sql<{ status: string; content: string }[]>`SELECT status, content FROM messages WHERE id = ${done.message_id}`;
    expect(row).toEqual({ status: 'complete', content: done.content });
    expect((await tdb.db.sql`SELECT count(*)::int AS n FROM answer_chunks WHERE message_id = ${done.message_id}`)[0]!.n).toBe(0);

    // A late joiner after the end replays the stored answer, identical to what B saw.
    const late = await connectReady(a.url, conv, alice, { last_seq: 0 });
    const replayed = await late.sock.waitFor((f) => f.type === 'message' && f.message.id === done.message_id);
    expect(replayed.message.content).toBe(done.content);
    onB.sock.close();
    late.sock.close();
  });
});
