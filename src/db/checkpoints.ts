// agent_checkpoints: one row per step of a run. The first and the last are written with
// the answer's row (messages.ts insertMessage, answers.ts finishAnswer).
import type { Db } from './client.js';
import type { Checkpoint } from '../core/run-store.js';

export async function insertCheckpoint(db: Db, c: Checkpoint): Promise<void> {
  await db.timed('runs.checkpoint', (sql) => sql`
    INSERT INTO agent_checkpoints (run_id, conversation_id, message_id, step, kind, state)
    VALUES (${c.runId}, ${c.conversationId}, ${c.messageId}, ${c.step}, ${c.kind}, ${sql.json(c.state as never)})`);
}
