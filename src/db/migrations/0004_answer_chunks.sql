-- A streaming answer grows by appending: every flush inserts the text produced since the
-- last one, for all runs of a process in one statement, and messages.content is written
-- once, when the answer ends. Rewriting the whole answer on each flush cost WAL and CPU
-- growing with the square of its length (2.8 KB of WAL per token at 300 streams).
-- Readers of a streaming answer assemble content || chunks in offset order; a crashed
-- runner's answer is assembled when it is marked interrupted.
-- No foreign key to messages: its check would lock the answer row on every flush. Chunks
-- go with the answer's end (finish or interruption), which deletes them.
CREATE TABLE answer_chunks (
  message_id uuid    NOT NULL,
  off        integer NOT NULL,
  text       text    NOT NULL,
  PRIMARY KEY (message_id, off)
);
