-- The GIN index over to_tsvector(content) was never used: the conversation search
-- (db/message-reads.ts) ORs the full-text match with an ILIKE fallback, which no index
-- serves, so PostgreSQL walks the conversation's (conversation_id, seq) index backwards
-- and filters, stopping at the limit. The index still cost every message written: an
-- answer's final update parsed its whole text into index entries, about a third of that
-- update's time and three quarters of its WAL (1.3 ms and 7.9-9.4 KB against 0.7 ms and
-- 2.3-2.9 KB without it, for a 300-word answer).
DROP INDEX IF EXISTS messages_content_search_idx;
