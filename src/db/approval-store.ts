// Binds the approval queries to the port of core/approvals.
import type { ApprovalStore } from '../core/approvals.js';
import { carryOverDecision, decideApproval, expireOrphanedApprovals, denyByPolicy, findApproval, pendingApprovals, requestApproval } from './approvals.js';
import type { Db } from './client.js';

export function approvalStore(db: Db): ApprovalStore {
  return {
    request: (a) => requestApproval(db, a),
    carryOver: (a) => carryOverDecision(db, a),
    denyByPolicy: (a) => denyByPolicy(db, a),
    decide: (d) => decideApproval(db, d),
    find: (id, owner, conv) => findApproval(db, id, owner, conv),
    pending: (conv) => pendingApprovals(db, conv),
    expireOrphaned: () => expireOrphanedApprovals(db),
  };
}
