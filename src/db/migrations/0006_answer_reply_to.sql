-- Which message an answer follows (its seq: the user message that asked, or the answer an
-- approval's new run continues), so a message retried after its ack was lost can tell
-- whether it was answered, and no message gets two answers whichever replica runs them.
-- Answers stored before this migration have none; a user message followed by one of
-- those counts as answered.
ALTER TABLE messages ADD COLUMN reply_to bigint;
CREATE UNIQUE INDEX messages_reply_to_key ON messages (conversation_id, reply_to) WHERE reply_to IS NOT NULL;
