-- Which server process streams an answer. Each process holds a session advisory lock on
-- its runner_id for its whole life, so a crashed runner is detected by PostgreSQL itself
-- (the lock is released with its connection) and its answers become 'interrupted'.
ALTER TABLE messages ADD COLUMN runner_id bigint;
CREATE INDEX messages_streaming_runner_idx ON messages (runner_id) WHERE status = 'streaming';

-- NOTIFY payloads are limited to 8000 bytes; larger events travel by reference.
CREATE TABLE bus_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX bus_events_created_idx ON bus_events (created_at);
