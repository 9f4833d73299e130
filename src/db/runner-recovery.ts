// Recovery of answers whose runner died: which runners still have streaming answers, and
// ending a gone runner's answers as interrupted (runner-lease.ts decides who is gone).
import type { Db } from './client.js';

export async function streamingRunners(db: Db, exceptRunner: bigint): Promise<bigint[]> {
  const rows = await db.timed('runs.streaming_runners', (sql) => sql<{ runner_id: string }[]>`
    SELECT DISTINCT runner_id FROM messages
     WHERE status = 'streaming' AND runner_id IS NOT NULL AND runner_id <> ${exceptRunner.toString()}`);
  return rows.map((r) => BigInt(r.runner_id));
}

// Answers left 'streaming' by a runner that no longer exists, with the text it had
// flushed assembled into content; returns what changed.
export async function interruptRunner(db: Db, runner: bigint): Promise<{ id: string; conversation_id: string; run_id: string; seq: number; content: string }[]> {
  const rows = await db.timed('runs.interrupt_runner', (sql) => sql<{ id: string; conversation_id: string; run_id: string; seq: string; content: string }[]>`
    WITH gone AS (
      UPDATE messages m SET status = 'interrupted', updated_at = clock_timestamp(),
             content = m.content || COALESCE((SELECT string_agg(c.text, '' ORDER BY c.off) FROM answer_chunks c WHERE c.message_id = m.id), '')
       WHERE status = 'streaming' AND runner_id = ${runner.toString()}
      RETURNING id, conversation_id, run_id, seq, content
    ), chunks AS (
      DELETE FROM answer_chunks WHERE message_id IN (SELECT id FROM gone)
    )
    SELECT * FROM gone`);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}
