// Tool approvals, stored on the tool_calls row: a pending request, the decision (who,
// when, why) taken by one conditional UPDATE so that a click, a second tab on another
// replica and the timeout can race and exactly one wins.
import type { Approval } from '../core/approvals.js';
import type { Db } from './client.js';

// The core's Approval as stored; message_id is the answer the call belongs to.
export interface ApprovalRow extends Approval {
  message_id: string | null;
}

const COLS = `t.approval_id, t.id AS tool_call_id, t.agent_call_id, t.run_id, t.conversation_id, t.message_id, t.name,
  t.arguments, t.approval, t.approval_reason, t.approval_note, t.decided_by, t.decided_at, t.approval_expires_at`;

export async function requestApproval(db: Db, a: { toolCallId: string; approvalId: string; agentCallId: string; expiresAt: Date }): Promise<void> {
  await db.timed('approvals.request', (sql) => sql`
    UPDATE tool_calls SET status = 'awaiting_approval', approval = 'pending', approval_id = ${a.approvalId},
           agent_call_id = ${a.agentCallId}, approval_expires_at = ${a.expiresAt}
     WHERE id = ${a.toolCallId}`);
}

// A tool the policy forbids: denied at once, never pending.
export async function denyByPolicy(db: Db, a: { toolCallId: string; approvalId: string; agentCallId: string }): Promise<void> {
  await db.timed('approvals.deny_policy', (sql) => sql`
    UPDATE tool_calls SET approval = 'denied', approval_reason = 'policy', approval_id = ${a.approvalId},
           agent_call_id = ${a.agentCallId}, decided_at = clock_timestamp()
     WHERE id = ${a.toolCallId}`);
}

// Decides a pending approval. ownerId: only the conversation's owner may (null: the
// server itself, for timeouts). undefined when it is not pending or not theirs.
export async function decideApproval(db: Db, d: { approvalId: string; ownerId: string | null; conversationId?: string; approved: boolean; reason: 'user' | 'timeout' | 'cancelled'; note: string | null }): Promise<ApprovalRow | undefined> {
  const rows = await db.timed('approvals.decide', (sql) => sql<ApprovalRow[]>`
    UPDATE tool_calls t SET approval = ${d.approved ? 'approved' : 'denied'}, approval_reason = ${d.reason},
           approval_note = ${d.note}, decided_by = ${d.ownerId}, decided_at = clock_timestamp(),
           status = CASE WHEN ${d.approved} THEN 'running' ELSE 'denied' END
      FROM conversations c
     WHERE t.approval_id = ${d.approvalId} AND t.approval = 'pending' AND c.id = t.conversation_id
       AND (${d.ownerId}::text IS NULL OR c.user_id = ${d.ownerId})
       AND (${d.conversationId ?? null}::uuid IS NULL OR t.conversation_id = ${d.conversationId ?? null})
    RETURNING ${sql.unsafe(COLS)}, c.user_id AS owner_id,
      (SELECT m.status FROM messages m WHERE m.id = t.message_id) AS answer_status,
      (SELECT m.seq::int8 FROM messages m WHERE m.id = t.message_id) AS answer_seq`);
  const r = rows[0];
  return r === undefined ? undefined : { ...r, answer_seq: r.answer_seq == null ? null : Number(r.answer_seq) };
}

// An approval as its owner may see it (undefined: unknown, or another user's).
export async function findApproval(db: Db, approvalId: string, ownerId: string, conversationId?: string): Promise<ApprovalRow | undefined> {
  const rows = await db.timed('approvals.find', (sql) => sql<ApprovalRow[]>`
    SELECT ${sql.unsafe(COLS)}
      FROM tool_calls t JOIN conversations c ON c.id = t.conversation_id
     WHERE t.approval_id = ${approvalId} AND c.user_id = ${ownerId}
       AND (${conversationId ?? null}::uuid IS NULL OR t.conversation_id = ${conversationId ?? null})`);
  return rows[0];
}

export async function pendingApprovals(db: Db, conversationId: string): Promise<ApprovalRow[]> {
  const rows = await db.timed('approvals.pending', (sql) => sql<ApprovalRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM tool_calls t
     WHERE conversation_id = ${conversationId} AND approval = 'pending' ORDER BY started_at, id`);
  return [...rows];
}

export interface CarriedDecision { approval: 'approved' | 'denied'; approval_note: string | null; decided_by: string | null; decided_at: Date }

// A new run reached a call its interrupted predecessor had asked about (same tool, same
// arguments) and whose decision came after the interruption: that decision applies to the
// new call too, stored on its row; each decision carries over once.
export async function carryOverDecision(db: Db, a: { conversationId: string; runId: string; toolCallId: string; approvalId: string; agentCallId: string; name: string; arguments: Record<string, unknown> }): Promise<CarriedDecision | undefined> {
  const rows = await db.timed('approvals.carry_over', (sql) => sql<CarriedDecision[]>`
    WITH src AS (
      SELECT t.id, t.approval, t.approval_reason, t.approval_note, t.decided_by, t.decided_at
        FROM tool_calls t JOIN messages m ON m.id = t.message_id
       WHERE t.conversation_id = ${a.conversationId} AND t.run_id <> ${a.runId} AND t.name = ${a.name}
         AND t.arguments = ${sql.json(a.arguments as never)}::jsonb AND t.approval_reason = 'user'
         AND t.carried_to IS NULL AND m.status = 'interrupted'
       ORDER BY t.decided_at DESC LIMIT 1
       FOR UPDATE OF t SKIP LOCKED
    ), mark AS (
      UPDATE tool_calls o SET carried_to = ${a.toolCallId} FROM src WHERE o.id = src.id
      RETURNING src.approval, src.approval_reason, src.approval_note, src.decided_by, src.decided_at
    )
    UPDATE tool_calls n SET approval = mark.approval, approval_reason = mark.approval_reason, approval_note = mark.approval_note,
           decided_by = mark.decided_by, decided_at = mark.decided_at, approval_id = ${a.approvalId}, agent_call_id = ${a.agentCallId},
           status = CASE WHEN mark.approval = 'approved' THEN 'running' ELSE 'denied' END
      FROM mark WHERE n.id = ${a.toolCallId}
    RETURNING mark.approval, mark.approval_note, mark.decided_by, mark.decided_at`);
  return rows[0];
}

// Pending approvals past their deadline whose run no longer streams anywhere (its replica
// stopped; a live run's own timer denies its approvals): denied as timed out.
export async function expireOrphanedApprovals(db: Db): Promise<ApprovalRow[]> {
  const rows = await db.timed('approvals.expire_orphaned', (sql) => sql<ApprovalRow[]>`
    UPDATE tool_calls t SET approval = 'denied', approval_reason = 'timeout', decided_at = clock_timestamp(), status = 'denied'
      FROM messages m
     WHERE t.approval = 'pending' AND t.approval_expires_at < clock_timestamp()
       AND m.id = t.message_id AND m.status <> 'streaming'
    RETURNING ${sql.unsafe(COLS)}`);
  return [...rows];
}
