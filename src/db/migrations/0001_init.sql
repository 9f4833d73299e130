-- Conversations belong to one user (the verified JWT sub). last_seq is the counter
-- that makes message seq gap-free: it is bumped in the same transaction that inserts
-- the message, so a rolled-back insert rolls the counter back too.
CREATE TABLE conversations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  title       text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
  last_seq    bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- list newest first with a (created_at, id) keyset cursor
CREATE INDEX conversations_user_created_idx ON conversations (user_id, created_at DESC, id DESC);

CREATE TABLE messages (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq             bigint NOT NULL CHECK (seq > 0),
  role            text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  status          text NOT NULL DEFAULT 'complete'
                  CHECK (status IN ('streaming', 'complete', 'cancelled', 'interrupted', 'failed')),
  content         text NOT NULL DEFAULT '',
  client_msg_id   uuid,
  user_id         text,
  run_id          uuid,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq),
  CONSTRAINT messages_conversation_client_msg_key UNIQUE (conversation_id, client_msg_id)
);
CREATE INDEX messages_run_idx ON messages (run_id) WHERE run_id IS NOT NULL;
-- start-up recovery turns answers left streaming by a crash into interrupted
CREATE INDEX messages_streaming_idx ON messages (conversation_id) WHERE status = 'streaming';
CREATE INDEX messages_content_search_idx ON messages USING gin (to_tsvector('simple', content));

CREATE TABLE tool_calls (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id          uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  message_id      uuid REFERENCES messages (id) ON DELETE SET NULL,
  name            text NOT NULL,
  arguments       jsonb NOT NULL DEFAULT '{}'::jsonb,
  status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  result          jsonb,
  error           text,
  started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at     timestamptz,
  duration_ms     integer
);
CREATE INDEX tool_calls_run_idx ON tool_calls (run_id, started_at);
CREATE INDEX tool_calls_conversation_idx ON tool_calls (conversation_id, started_at);
CREATE INDEX tool_calls_message_idx ON tool_calls (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE documents (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id         text NOT NULL,
  conversation_id uuid REFERENCES conversations (id) ON DELETE CASCADE,
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  content_type    text NOT NULL DEFAULT 'text/plain' CHECK (content_type IN ('text/plain', 'text/markdown')),
  content         text NOT NULL,
  size_bytes      integer NOT NULL CHECK (size_bytes >= 0),
  chunk_count     integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX documents_user_created_idx ON documents (user_id, created_at DESC, id DESC);
CREATE INDEX documents_conversation_idx ON documents (conversation_id) WHERE conversation_id IS NOT NULL;

-- Plain real[] works on every PostgreSQL; a later migration adds a pgvector column
-- and index when the extension is available.
CREATE TABLE embeddings (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  user_id      text NOT NULL,
  chunk_index  integer NOT NULL CHECK (chunk_index >= 0),
  content      text NOT NULL,
  start_offset integer NOT NULL,
  end_offset   integer NOT NULL,
  model        text NOT NULL,
  dims         integer NOT NULL CHECK (dims > 0),
  embedding    real[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT embeddings_document_chunk_key UNIQUE (document_id, chunk_index),
  CHECK (cardinality(embedding) = dims)
);
CREATE INDEX embeddings_user_model_idx ON embeddings (user_id, model);

CREATE TABLE agent_checkpoints (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id          uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  message_id      uuid REFERENCES messages (id) ON DELETE SET NULL,
  step            integer NOT NULL CHECK (step >= 0),
  kind            text NOT NULL,
  state           jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT agent_checkpoints_run_step_key UNIQUE (run_id, step)
);
CREATE INDEX agent_checkpoints_conversation_idx ON agent_checkpoints (conversation_id, created_at);

CREATE TABLE llm_response_cache (
  key               text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}$'),
  model             text NOT NULL,
  provider          text NOT NULL,
  request           jsonb NOT NULL,
  query_text        text NOT NULL DEFAULT '',
  events            jsonb NOT NULL,
  response_text     text NOT NULL,
  prompt_tokens     integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  hit_count         bigint NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_hit_at       timestamptz,
  expires_at        timestamptz NOT NULL
);
CREATE INDEX llm_response_cache_expires_idx ON llm_response_cache (expires_at);
CREATE INDEX llm_response_cache_model_created_idx ON llm_response_cache (model, created_at);
CREATE INDEX llm_response_cache_hits_idx ON llm_response_cache (hit_count DESC);

CREATE TABLE cache_config (
  model        text PRIMARY KEY,
  enabled      boolean NOT NULL DEFAULT true,
  ttl_seconds  integer NOT NULL DEFAULT 86400 CHECK (ttl_seconds > 0),
  max_entries  integer NOT NULL DEFAULT 10000 CHECK (max_entries > 0),
  updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE cache_analytics (
  day           date NOT NULL,
  model         text NOT NULL,
  hits          bigint NOT NULL DEFAULT 0,
  misses        bigint NOT NULL DEFAULT 0,
  tokens_saved  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model)
);
CREATE INDEX cache_analytics_model_day_idx ON cache_analytics (model, day);

-- Read models over the two tables above, so the stats endpoint and Grafana can ask
-- simple questions without duplicating aggregation logic.
CREATE VIEW cache_by_model AS
  SELECT a.model,
         sum(a.hits)::bigint         AS hits,
         sum(a.misses)::bigint       AS misses,
         sum(a.tokens_saved)::bigint AS tokens_saved,
         CASE WHEN sum(a.hits) + sum(a.misses) = 0 THEN 0
              ELSE sum(a.hits)::float8 / (sum(a.hits) + sum(a.misses)) END AS hit_ratio,
         (SELECT count(*) FROM llm_response_cache c WHERE c.model = a.model AND c.expires_at > now())::bigint AS live_entries
    FROM cache_analytics a
   GROUP BY a.model;

CREATE VIEW top_cached_queries AS
  SELECT key, model, query_text, hit_count, completion_tokens,
         hit_count * completion_tokens AS tokens_saved, created_at, last_hit_at, expires_at
    FROM llm_response_cache
   WHERE expires_at > now()
   ORDER BY hit_count DESC, created_at DESC;
