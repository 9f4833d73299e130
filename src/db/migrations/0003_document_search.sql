-- Cosine similarity over the plain real[] embeddings, for databases without pgvector. When the
-- extension is available the server creates it and an HNSW expression index at start-up
-- (src/db/embeddings.ts) and searches with its <=> operator instead.
CREATE FUNCTION cosine_similarity(a real[], b real[]) RETURNS double precision
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN s.na = 0 OR s.nb = 0 THEN 0 ELSE s.dot / sqrt(s.na * s.nb) END
      FROM (SELECT sum(x::float8 * y) AS dot, sum(x::float8 * x) AS na, sum(y::float8 * y) AS nb
              FROM unnest(a, b) AS t(x, y)) s
  $$;

