// Queries behind agent runs: the streaming answer row, its checkpoints and tool calls,
// recovery of answers whose runner died, and the conversation search tool.
import type { Db } from './client.js';
import type { AnswerChunk } from '../core/answer-writer.js';
import { MESSAGE_COLS as MSG_COLS, type MessageRow } from './messages.js';

// One statement for the text every streaming answer of this process produced since its
// last flush. A retry after an unclear failure (the commit may have happened) starts at
// the same offset with more text, so it replaces the chunk instead of colliding with it.
export async function appendAnswerChunks(db: Db, chunks: AnswerChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await db.timed('runs.append_chunks', (sql) => sql`
    INSERT INTO answer_chunks (message_id, off, text)
    SELECT x.m, x.o, x.t FROM jsonb_to_recordset(${sql.json(chunks.map((c) => ({ m: c.messageId, o: c.offset, t: c.text })) as never)}) AS x(m uuid, o int4, t text)
    ON CONFLICT (message_id, off) DO UPDATE SET text = EXCLUDED.text`);
}

export interface FinishResult {
  changed: boolean; // false: the row was no longer streaming (another replica marked it)
  status: string; // as stored after the statement
  content: string;
}

// Ends an answer with its full text, written once, and drops its chunks; returns what the
// row holds afterwards: clients must be told what is stored, so a row another replica
// already ended is reported as it stands.
export async function finishAnswer(db: Db, messageId: string, content: string, status: 'complete' | 'cancelled' | 'interrupted' | 'failed', metadata: Record<string, unknown>): Promise<FinishResult> {
  const rows = await db.timed('runs.finish', (sql) => sql<{ changed: boolean; status: string; content: string }[]>`
    WITH upd AS (
      UPDATE messages SET content = ${content}, status = ${status}, updated_at = clock_timestamp(),
             metadata = metadata || ${sql.json(metadata as never)}
       WHERE id = ${messageId} AND status = 'streaming'
      RETURNING status, content
    ), gone AS (
      DELETE FROM answer_chunks WHERE message_id = ${messageId}
    )
    SELECT true AS changed, status, content FROM upd
    UNION ALL
    SELECT false, status, content FROM messages WHERE id = ${messageId} AND NOT EXISTS (SELECT 1 FROM upd)`);
  const r = rows[0];
  return r ?? { changed: false, status: 'deleted', content: '' };
}

// Which of these answers are no longer streaming (ended by another replica's sweep).
export async function answersNotStreaming(db: Db, ids: string[]): Promise<{ id: string; status: string; content: string }[]> {
  if (ids.length === 0) return [];
  return [...(await db.timed('runs.not_streaming', (sql) => sql<{ id: string; status: string; content: string }[]>`
    SELECT id, status, content FROM messages WHERE id = ANY(${ids}::uuid[]) AND status <> 'streaming'`))];
}

export async function insertCheckpoint(db: Db, c: { runId: string; conversationId: string; messageId: string; step: number; kind: string; state: Record<string, unknown> }): Promise<void> {
  await db.timed('runs.checkpoint', (sql) => sql`
    INSERT INTO agent_checkpoints (run_id, conversation_id, message_id, step, kind, state)
    VALUES (${c.runId}, ${c.conversationId}, ${c.messageId}, ${c.step}, ${c.kind}, ${sql.json(c.state as never)})`);
}

export async function insertToolCall(db: Db, t: { id: string; runId: string; conversationId: string; messageId: string; name: string; arguments: Record<string, unknown> }): Promise<void> {
  await db.timed('runs.tool_call', (sql) => sql`
    INSERT INTO tool_calls (id, run_id, conversation_id, message_id, name, arguments)
    VALUES (${t.id}, ${t.runId}, ${t.conversationId}, ${t.messageId}, ${t.name}, ${sql.json(t.arguments as never)})`);
}

export async function finishToolCall(db: Db, t: { id: string; status: 'succeeded' | 'failed' | 'denied'; result: unknown; error: string | null; durationMs: number }): Promise<void> {
  await db.timed('runs.tool_result', (sql) => sql`
    UPDATE tool_calls SET status = ${t.status}, result = ${t.result === undefined ? null : sql.json(t.result as never)},
           error = ${t.error}, duration_ms = ${Math.round(t.durationMs)}, finished_at = clock_timestamp()
     WHERE id = ${t.id}`);
}

// The answer row of a run, if it was stored.
export async function findAnswerOfRun(db: Db, runId: string): Promise<MessageRow | undefined> {
  const rows = await db.timed('runs.find_answer', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MSG_COLS)} FROM messages WHERE run_id = ${runId} AND role = 'assistant' LIMIT 1`);
  return rows[0] === undefined ? undefined : { ...rows[0], seq: Number(rows[0].seq) };
}

// The answer being streamed in a conversation, if any (whichever replica runs it).
export async function findStreamingAnswer(db: Db, conversationId: string): Promise<MessageRow | undefined> {
  const rows = await db.timed('runs.find_streaming', (sql) => sql<MessageRow[]>`
    SELECT ${sql.unsafe(MSG_COLS)} FROM messages
     WHERE conversation_id = ${conversationId} AND status = 'streaming'
     ORDER BY seq DESC LIMIT 1`);
  return rows[0] === undefined ? undefined : { ...rows[0], seq: Number(rows[0].seq) };
}

// What a joining socket needs in one round trip: ownership, last_seq and the answer
// streaming right now, if any.
export async function findOwnedForJoin(db: Db, userId: string, conversationId: string): Promise<{ id: string; last_seq: number; streaming: MessageRow | undefined } | undefined> {
  const rows = await db.timed('runs.find_owned_for_join', (sql) => sql<{ id: string; last_seq: string; streaming: (Omit<MessageRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string }) | null }[]>`
    SELECT c.id, c.last_seq, to_jsonb(m) AS streaming
      FROM conversations c
      LEFT JOIN LATERAL (
        SELECT ${sql.unsafe(MSG_COLS)} FROM messages
         WHERE conversation_id = c.id AND status = 'streaming'
         ORDER BY seq DESC LIMIT 1) m ON true
     WHERE c.id = ${conversationId} AND c.user_id = ${userId}`);
  const r = rows[0];
  if (r === undefined) return undefined;
  const m = r.streaming;
  return {
    id: r.id,
    last_seq: Number(r.last_seq),
    streaming: m === null ? undefined : { ...m, seq: Number(m.seq), created_at: new Date(m.created_at), updated_at: new Date(m.updated_at) },
  };
}

export async function streamingRunners(db: Db, exceptRunner: bigint): Promise<bigint[]> {
  const rows = await db.timed('runs.streaming_runners', (sql) => sql<{ runner_id: string }[]>`
    SELECT DISTINCT runner_id FROM messages
     WHERE status = 'streaming' AND runner_id IS NOT NULL AND runner_id <> ${exceptRunner.toString()}`);
  return rows.map((r) => BigInt(r.runner_id));
}

// Answers left 'streaming' by a runner that no longer exists, with the text it had
// flushed assembled into content; returns what changed.
export async function interruptRunner(db: Db, runner: bigint): Promise<{ id: string; conversation_id: string; run_id: string; seq: number; content: string }[]> {
  const rows = await db.timed('runs.interrupt_runner', (sql) => sql<{ id: string; conversation_id: string; run_id: string; seq: string; content: string }[]>`
    WITH gone AS (
      UPDATE messages m SET status = 'interrupted', updated_at = clock_timestamp(),
             content = m.content || COALESCE((SELECT string_agg(c.text, '' ORDER BY c.off) FROM answer_chunks c WHERE c.message_id = m.id), '')
       WHERE status = 'streaming' AND runner_id = ${runner.toString()}
      RETURNING id, conversation_id, run_id, seq, content
    ), chunks AS (
      DELETE FROM answer_chunks WHERE message_id IN (SELECT id FROM gone)
    )
    SELECT * FROM gone`);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

export async function recentTurns(db: Db, conversationId: string, limit: number): Promise<{ role: string; content: string }[]> {
  const rows = await db.timed('runs.recent_turns', (sql) => sql<{ role: string; content: string }[]>`
    SELECT role, content FROM (
      SELECT role, content, seq FROM messages
       WHERE conversation_id = ${conversationId} AND status IN ('complete', 'cancelled', 'interrupted') AND content <> ''
       ORDER BY seq DESC LIMIT ${limit}) t
    ORDER BY seq`);
  return [...rows];
}

export interface SearchRow {
  message_id: string;
  seq: number;
  role: string;
  snippet: string;
  created_at: Date;
}

// Full-text match first, substring as a fallback for words the parser drops.
export async function searchConversationMessages(db: Db, conversationId: string, query: string, limit: number, beforeSeq: number): Promise<SearchRow[]> {
  const rows = await db.timed('runs.search', (sql) => sql<(SearchRow & { seq: string })[]>`
    SELECT id AS message_id, seq, role, left(content, 200) AS snippet, created_at FROM messages
     WHERE conversation_id = ${conversationId} AND seq < ${beforeSeq} AND status <> 'streaming'
       AND (to_tsvector('simple', content) @@ plainto_tsquery('simple', ${query})
            OR content ILIKE ${'%' + query.replace(/[\\%_]/g, (c) => '\\' + c) + '%'})
     ORDER BY seq DESC LIMIT ${limit}`);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

export async function storeBusEvent(db: Db, payload: unknown): Promise<string> {
  const rows = await db.timed('bus.store', (sql) => sql<{ id: string }[]>`
    INSERT INTO bus_events (payload) VALUES (${sql.json(payload as never)}) RETURNING id`);
  return rows[0]!.id;
}

export async function loadBusEvent(db: Db, id: string): Promise<unknown> {
  const rows = await db.timed('bus.load', (sql) => sql<{ payload: unknown }[]>`SELECT payload FROM bus_events WHERE id = ${id}`);
  return rows[0]?.payload;
}

export async function pruneBusEvents(db: Db, olderThanS: number): Promise<number> {
  const res = await db.timed('bus.prune', (sql) => sql`
    DELETE FROM bus_events WHERE created_at < clock_timestamp() - make_interval(secs => ${olderThanS})`);
  return res.count;
}
