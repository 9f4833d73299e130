// Binds the queries to the ports of the realtime core (gateway sessions and agent runs).
import type { GatewayStore } from '../core/gateway.js';
import type { RunStore } from '../core/run-store.js';
import { AppError } from '../protocol/errors.js';
import { isConnectionError, isUniqueViolation, type Db } from './client.js';
import type { RunnerLease } from './runner-lease.js';
import { appendAnswerChunks, finishAnswer } from './answers.js';
import { insertCheckpoint } from './checkpoints.js';
import { insertMessage, listMessagesAfter } from './messages.js';
import { findAnswerAfter, findAnswerOfRun, findOwnedForJoin, findStreamingAnswer, recentTurns, searchConversationMessages } from './message-reads.js';
import { finishToolCall, insertToolCall } from './tool-calls.js';

// Sessions tell a client "try again" (a recoverable error frame, or a close it may
// resume after) when the database is away, rather than "internal server error". Reads
// also give up after deadlineMs: while PostgreSQL is unreachable the driver keeps
// reconnecting up to its connect timeout, longer than a socket may take to authenticate.
async function unavailableOnLoss<T>(run: Promise<T>, deadlineMs?: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    if (deadlineMs === undefined) return await run;
    return await Promise.race([run, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer from the database within ${deadlineMs} ms`), { code: 'CONNECT_TIMEOUT' })), deadlineMs);
    })]);
  } catch (err) {
    if (isConnectionError(err)) throw new AppError('unavailable', 'database unavailable; retry shortly', { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function gatewayStore(db: Db, deadlineMs?: number): GatewayStore {
  const s = gatewayQueries(db);
  // A read that outlives its deadline still settles later; nothing waits for it.
  const read = <T>(p: Promise<T>) => {
    p.catch(() => undefined);
    return unavailableOnLoss(p, deadlineMs);
  };
  return {
    findOwned: (u, c) => read(s.findOwned(u, c)),
    messagesAfter: (c, a, l) => read(s.messagesAfter(c, a, l)),
    // no deadline: a burst of messages may queue for the pool well past it (the
    // driver's connect timeout still ends the wait when the database is away)
    insertUserMessage: (c, u, id, content) => unavailableOnLoss(s.insertUserMessage(c, u, id, content)),
    streamingAnswer: (c) => read(s.streamingAnswer(c)),
  };
}

function gatewayQueries(db: Db): GatewayStore {
  return {
    findOwned: (userId, conv) => findOwnedForJoin(db, userId, conv),
    messagesAfter: (conv, after, limit) => listMessagesAfter(db, conv, after, limit),
    insertUserMessage: async (conv, userId, clientMsgId, content) => {
      const out = await insertMessage(db, { conversationId: conv, role: 'user', content, clientMsgId, userId });
      if (out.kind === 'no_conversation') return undefined;
      if (out.kind === 'created') return { message: out.message, duplicate: false };
      return { message: out.message, duplicate: true, answered: (await findAnswerAfter(db, conv, out.message.seq)) !== undefined };
    },
    streamingAnswer: (conv) => findStreamingAnswer(db, conv),
  };
}

export function runStore(db: Db, lease: Pick<RunnerLease, 'runnerId' | 'held'>): RunStore {
  return {
    insertAnswer: async (conv, runId, { retry, replyTo, started }) => {
      // An answer is claimed under our runner id only while we hold its lock.
      const wait = lease.held();
      if (wait) await wait;
      if (retry) {
        const stored = await findAnswerOfRun(db, runId);
        if (stored) return stored;
      }
      try {
        const out = await insertMessage(db, { conversationId: conv, role: 'assistant', content: '', status: 'streaming', runId, runnerId: lease.runnerId, replyTo },
          { step: 0, kind: 'started', state: started });
        return out.kind === 'no_conversation' ? undefined : out.message;
      } catch (err) {
        // the message has its answer already (a retried send raced its first run)
        if (isUniqueViolation(err, 'messages_reply_to_key')) return undefined;
        throw err;
      }
    },
    appendChunks: (chunks) => appendAnswerChunks(db, chunks),
    finish: (id, content, status, metadata, last) => finishAnswer(db, id, content, status, metadata, last),
    checkpoint: (c) => insertCheckpoint(db, c),
    toolCall: (t) => insertToolCall(db, t),
    toolResult: (t) => finishToolCall(db, t),
    recentTurns: async (conv, limit) => (await recentTurns(db, conv, limit)) as { role: 'user' | 'assistant' | 'system' | 'tool'; content: string }[],
    search: async (conv, q, limit, beforeSeq) => (await searchConversationMessages(db, conv, q, limit, beforeSeq)).map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
  };
}
