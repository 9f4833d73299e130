// agent_checkpoints: one row per step of a run.
import type { Db } from './client.js';

export async function insertCheckpoint(db: Db, c: { runId: string; conversationId: string; messageId: string; step: number; kind: string; state: Record<string, unknown> }): Promise<void> {
  await db.timed('runs.checkpoint', (sql) => sql`
    INSERT INTO agent_checkpoints (run_id, conversation_id, message_id, step, kind, state)
    VALUES (${c.runId}, ${c.conversationId}, ${c.messageId}, ${c.step}, ${c.kind}, ${sql.json(c.state as never)})`);
}
