// Writes of a streaming answer after its row is inserted (messages.ts): its text appended as
// answer_chunks, its end, and which answers another replica ended.
import type { Db } from './client.js';
import type { AnswerChunk } from '../core/answer-writer.js';
import type { FinalCheckpoint, FinishStatus, StoredEnd } from '../core/run-store.js';

// One statement for the text every streaming answer of this process produced since its
// last flush. A retry after an unclear failure (the commit may have happened) starts at
// the same offset with more text, so it replaces the chunk instead of colliding with it.
export async function appendAnswerChunks(db: Db, chunks: AnswerChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await db.timed('runs.append_chunks', (sql) => sql`
    INSERT INTO answer_chunks (message_id, off, text)
    SELECT x.m, x.o, x.t FROM jsonb_to_recordset(${sql.json(chunks.map((c) => ({ m: c.messageId, o: c.offset, t: c.text })) as never)}) AS x(m uuid, o int4, t text)
    ON CONFLICT (message_id, off) DO UPDATE SET text = EXCLUDED.text`);
}

// Ends an answer with its full text, written once, drops its chunks, and stores the run's
// final checkpoint; returns what the row holds afterwards: clients must be told what is
// stored, so a row another replica already ended is reported as it stands. The checkpoint
// of a step is stored once: a retry after a lost reply finds it there.
export async function finishAnswer(db: Db, messageId: string, content: string, status: FinishStatus, metadata: Record<string, unknown>,
  last: FinalCheckpoint): Promise<StoredEnd> {
  const rows = await db.timed('runs.finish', (sql) => sql<{ changed: boolean; status: string; content: string | null }[]>`
    WITH upd AS (
      UPDATE messages SET content = ${content}, status = ${status}, updated_at = clock_timestamp(),
             metadata = metadata || ${sql.json(metadata as never)}
       WHERE id = ${messageId} AND status = 'streaming'
      RETURNING status
    ), gone AS (
      DELETE FROM answer_chunks WHERE message_id = ${messageId}
    ), res AS (
      SELECT true AS changed, status, NULL::text AS content FROM upd
      UNION ALL
      SELECT false, status, content FROM messages WHERE id = ${messageId} AND NOT EXISTS (SELECT 1 FROM upd)
    ), cp AS (
      INSERT INTO agent_checkpoints (run_id, conversation_id, message_id, step, kind, state)
      SELECT ${last.runId}, ${last.conversationId}, ${messageId}, ${last.step}, CASE WHEN changed THEN status ELSE 'lost_' || status END, ${sql.json(last.state as never)}
        FROM res
      ON CONFLICT (run_id, step) DO NOTHING
    )
    SELECT changed, status, content FROM res`);
  const r = rows[0];
  if (r === undefined) return { changed: false, status: 'deleted', content: '' };
  // the text just written is not sent back
  return { changed: r.changed, status: r.status, content: r.changed ? content : r.content ?? '' };
}

// Which of these answers are no longer streaming (ended by another replica's sweep).
export async function answersNotStreaming(db: Db, ids: string[]): Promise<{ id: string; status: string; content: string }[]> {
  if (ids.length === 0) return [];
  return [...(await db.timed('runs.not_streaming', (sql) => sql<{ id: string; status: string; content: string }[]>`
    SELECT id, status, content FROM messages WHERE id = ANY(${ids}::uuid[]) AND status <> 'streaming'`))];
}
