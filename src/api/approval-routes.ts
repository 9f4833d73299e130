// /api/v1/conversations/:id/approvals: tool calls waiting for the owner's approval, and
// the decision (the HTTP twin of the WebSocket approve/deny frames).
import { z } from 'zod';
import type { Approval, Approvals } from '../core/approvals.js';
import { ApprovalNote } from '../protocol/frames.js';
import { ErrorJson, IdParams } from '../protocol/rest.js';
import { route, type Route } from './route.js';

const ApprovalParams = z.strictObject({ id: IdParams.shape.id, approval_id: z.uuid({ error: 'must be a UUID' }) });
const DecisionBody = z.strictObject({
  approved: z.boolean({ error: 'must be true (approve) or false (deny)' }),
  reason: ApprovalNote.optional(),
});

const notFound = { description: 'no such approval in a conversation of yours', schema: ErrorJson };
const invalid = { description: 'invalid parameters or body (the error names the field)', schema: ErrorJson };
const unauthorized = { description: 'missing or invalid bearer token', schema: ErrorJson };

function approvalJson(a: Approval) {
  return {
    approval_id: a.approval_id, run_id: a.run_id, tool_call_id: a.agent_call_id, name: a.name, arguments: a.arguments,
    state: a.approval, reason: a.approval_reason, note: a.approval_note, decided_by: a.decided_by,
    decided_at: a.decided_at?.toISOString() ?? null, expires_at: a.approval_expires_at.toISOString(),
  };
}

export function approvalRoutes(approvals: Approvals): Route[] {
  const user = (u: string | undefined): string => u!; // auth: true guarantees it
  return [
    route<z.output<typeof ApprovalParams>, undefined, z.output<typeof DecisionBody>>({
      method: 'post', path: '/api/v1/conversations/:id/approvals/:approval_id', tag: 'approvals', auth: true,
      summary: 'Approve or deny a tool call waiting in one of your conversations',
      params: ApprovalParams, body: DecisionBody,
      responses: { 200: { description: 'the decision, stored' }, 400: invalid, 401: unauthorized, 404: notFound, 409: { description: 'already decided', schema: ErrorJson } },
      handler: async (ctx) => ({
        status: 200,
        body: approvalJson(await approvals.decide(user(ctx.user), ctx.params.approval_id, ctx.body.approved, ctx.body.reason, ctx.params.id)),
      }),
    }),
  ];
}
