-- Human-in-the-loop tool approval. A tool call whose policy is `ask` waits as
-- 'awaiting_approval' with a pending approval; the conversation's owner (or the timeout)
-- decides, and who decided and when is kept on the row. Pending rows outlive the process
-- that asked, so any replica can answer them and a client that joins later sees them.
ALTER TABLE tool_calls DROP CONSTRAINT tool_calls_status_check;
ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_status_check
  CHECK (status IN ('running', 'awaiting_approval', 'succeeded', 'failed', 'denied'));
ALTER TABLE tool_calls
  ADD COLUMN approval_id         uuid UNIQUE,
  -- the agent's own id for the call (what tool.call frames carry)
  ADD COLUMN agent_call_id       text,
  ADD COLUMN approval            text CHECK (approval IN ('pending', 'approved', 'denied')),
  ADD COLUMN approval_reason     text CHECK (approval_reason IN ('user', 'timeout', 'policy', 'cancelled')),
  ADD COLUMN approval_note       text CHECK (length(approval_note) <= 500),
  ADD COLUMN decided_by          text,
  ADD COLUMN decided_at          timestamptz,
  ADD COLUMN approval_expires_at timestamptz,
  -- a decision taken after its run was interrupted (the replica stopped while it waited)
  -- carries over to the same call in the run that continues the conversation, once
  ADD COLUMN carried_to          uuid;
CREATE INDEX tool_calls_pending_approval_idx ON tool_calls (approval_expires_at) WHERE approval = 'pending';
