// tool_calls: a run's tool calls, their results, and what a resumed UI stream replays (with
// approval state). Approval decisions are in approvals.ts.
import type { Db } from './client.js';

export async function insertToolCall(db: Db, t: { id: string; runId: string; conversationId: string; messageId: string; name: string; arguments: Record<string, unknown> }): Promise<void> {
  await db.timed('runs.tool_call', (sql) => sql`
    INSERT INTO tool_calls (id, run_id, conversation_id, message_id, name, arguments)
    VALUES (${t.id}, ${t.runId}, ${t.conversationId}, ${t.messageId}, ${t.name}, ${sql.json(t.arguments as never)})`);
}

export async function finishToolCall(db: Db, t: { id: string; status: 'succeeded' | 'failed' | 'denied'; result: unknown; error: string | null; durationMs: number }): Promise<void> {
  await db.timed('runs.tool_result', (sql) => sql`
    UPDATE tool_calls SET status = ${t.status}, result = ${t.result === undefined ? null : sql.json(t.result as never)},
           error = ${t.error}, duration_ms = ${Math.round(t.durationMs)}, finished_at = clock_timestamp()
     WHERE id = ${t.id}`);
}

export interface ToolCallRow {
  id: string;
  run_id: string;
  name: string;
  arguments: Record<string, unknown>;
  status: 'running' | 'awaiting_approval' | 'succeeded' | 'failed' | 'denied';
  result: unknown;
  error: string | null;
  approval_id: string | null;
  approval: 'pending' | 'approved' | 'denied' | null;
  approval_expires_at: Date | null;
}

export async function toolCallsOfMessage(db: Db, messageId: string): Promise<ToolCallRow[]> {
  const rows = await db.timed('ui_chat.tool_calls', (sql) => sql<ToolCallRow[]>`
    SELECT id, run_id, name, arguments, status, result, error, approval_id, approval, approval_expires_at
      FROM tool_calls WHERE message_id = ${messageId} ORDER BY started_at, id`);
  return [...rows];
}
