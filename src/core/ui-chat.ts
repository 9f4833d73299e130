// AI SDK's useChat served from our runs: POST sends (the last user message, stored
// idempotently by its id) and streams the run that answers it; GET resumes whatever answer
// is streaming in the conversation, on whichever replica runs it; stop cancels that run
// wherever it runs. The streams follow the same frames a WebSocket gets (hub observers),
// so resume and stop need nothing beyond the run log and the bus.
import type { EventSink } from './event-sink.js';
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import { AppError } from '../protocol/errors.js';
import { wireMessage, type Message } from './message.js';
import { lastUserText, type UiChatBody } from '../protocol/ui-chat.js';
import type { Bus } from './bus.js';
import type { Hub } from './hub.js';
import type { RunManager } from './runs.js';
import { RunFollower } from './run-follower.js';
import { isUuid, stableUuid } from './stable-uuid.js';
import { parseEventId, UiStreamMapper, type ToolCallState, type UiEvent } from './ui-stream.js';

export interface UiChatStore {
  findOwned(userId: string, conv: string): Promise<{ id: string; last_seq: number; streaming: Message | undefined } | undefined>;
  insertUserMessage(conv: string, userId: string, clientMsgId: string, content: string, uiMessageId: string): Promise<{ message: Message; duplicate: boolean } | undefined>;
  message(conv: string, id: string): Promise<Message | undefined>;
  messageBySeq(conv: string, seq: number): Promise<Message | undefined>;
  answerAfter(conv: string, seq: number): Promise<Message | undefined>;
  streamingAnswer(conv: string): Promise<Message | undefined>;
  toolCalls(messageId: string): Promise<ToolCallState[]>;
}

export type StreamStart = (sink: EventSink) => void;

const STOP_WAIT_MS = 10_000;

export class UiChat {
  constructor(private readonly d: { store: UiChatStore; runs: RunManager; hub: Hub; bus: Bus; log: Logger; autoRun: boolean }) {}

  async send(userId: string, body: UiChatBody): Promise<StreamStart> {
    const { store, hub, bus, runs } = this.d;
    const conv = body.id;
    if ((await store.findOwned(userId, conv)) === undefined) throw new AppError('conversation_not_found');
    const last = body.messages[body.messages.length - 1]!;
    // Observe before the run can start, so its first frame cannot be missed.
    const follower = new RunFollower(hub, conv, (id) => store.message(conv, id), this.d.log, true);
    // A failure before the run is handed the follower leaves nothing observing.
    let out: NonNullable<Awaited<ReturnType<UiChatStore['insertUserMessage']>>>;
    try {
      const stored = await store.insertUserMessage(conv, userId, clientMsgIdFor(last.id), lastUserText(body), last.id);
      if (stored === undefined) throw new AppError('conversation_not_found');
      out = stored;
      if (out.duplicate) {
        // A retried send: show the answer it got (streaming or stored), never a second run.
        // Without one, its first reply was lost after the commit and nothing ran: it runs now.
        const answer = await store.answerAfter(conv, out.message.seq);
        if (answer !== undefined || !this.d.autoRun) {
          follower.close();
          if (answer?.status === 'streaming') return this.follow(conv, answer, undefined);
          return (sink) => void this.replayStored(answer, sink);
        }
      }
    } catch (err) {
      follower.close();
      throw err;
    }
    bus.publish({ kind: 'frame', conv, frame: { type: 'message', message: wireMessage(out.message) } });
    if (!this.d.autoRun) {
      follower.close();
      return (sink) => void this.replayStored(undefined, sink);
    }
    runs.submit(conv, userId, out.message.seq, (runId) => follower.followRun(runId));
    return (sink) => follower.attach(sink);
  }

  // undefined: nothing is streaming (204).
  async resume(userId: string, conv: string, lastEventId: string | undefined): Promise<StreamStart | undefined> {
    const { store, hub } = this.d;
    const follower = new RunFollower(hub, conv, (id) => store.message(conv, id), this.d.log);
    const owned = await store.findOwned(userId, conv).catch((err: unknown) => {
      follower.close();
      throw err;
    });
    if (owned === undefined) {
      follower.close();
      throw new AppError('conversation_not_found');
    }
    const last = parseEventId(lastEventId);
    const s = owned.streaming;
    if (s?.run_id == null) {
      follower.close();
      // Last-Event-ID names an answer that ended meanwhile: send its rest and its end.
      if (last === undefined) return undefined;
      const m = await store.messageBySeq(conv, last.seq);
      if (m?.role !== 'assistant' || m.status === 'streaming' || m.run_id === null) return undefined;
      const mapper = new UiStreamMapper(m.run_id, m.id, m.seq, { skipText: last.offset, announced: true });
      const events = mapper.stored(m.status, m.content);
      return (sink) => writeAll(sink, events, true);
    }
    return this.follow(conv, s, last?.seq === s.seq ? last.offset : undefined, follower);
  }

  // Cancels the streaming answer wherever it runs and returns once it is stored as stopped.
  async stop(userId: string, conv: string): Promise<void> {
    const { store, hub, runs } = this.d;
    const owned = await store.findOwned(userId, conv);
    if (owned === undefined) throw new AppError('conversation_not_found');
    const s = owned.streaming;
    if (s?.run_id == null) return;
    const runId = s.run_id;
    let unobserve = () => {};
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_WAIT_MS);
      timer.unref();
      unobserve = hub.observe(conv, {
        sessionId: `stop-${runId}`,
        deliver: (f) => {
          if ((f.type === 'run.failed' || f.type === 'response.completed') && f.run_id === runId) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    try {
      const still = await store.streamingAnswer(conv);
      if (still?.run_id !== runId) return;
      runs.cancel(conv, runId);
      await ended;
    } finally {
      unobserve();
    }
  }

  // A stream of an answer streaming now: tool calls made so far (with pending approvals),
  // the text up to a snapshot from the replica running it, then live frames.
  private async follow(conv: string, s: Message, skipText: number | undefined, existing?: RunFollower): Promise<StreamStart> {
    const { store, hub, runs, bus } = this.d;
    const follower = existing ?? new RunFollower(hub, conv, (id) => store.message(conv, id), this.d.log);
    const runId = s.run_id!;
    const mapper = new UiStreamMapper(runId, s.id, s.seq, skipText === undefined ? {} : { skipText, announced: true });
    let initial: UiEvent[] = [];
    try {
      const calls = await store.toolCalls(s.id);
      initial = skipText === undefined ? mapper.replayTools(calls) : mapper.replayTools(calls.filter((c) => c.approval === 'pending'));
      initial.push(...mapper.base('', 0));
    } catch (err) {
      follower.close();
      throw err;
    }
    follower.followMapped(mapper, initial);
    const local = runs.localRun(conv);
    if (local?.runId === runId) follower.deliver(runs.snapshot(local));
    else bus.publish({ kind: 'snapshot_request', conv, run_id: runId, session: follower.sessionId });
    return (sink) => follower.attach(sink);
  }

  private async replayStored(answer: Message | undefined, sink: EventSink): Promise<void> {
    try {
      if (answer === undefined || answer.run_id === null) {
        sink.send({ data: JSON.stringify({ type: 'start' }) });
        sink.send({ data: JSON.stringify({ type: 'finish', finishReason: 'other' }) });
        writeAll(sink, [], true);
        return;
      }
      const mapper = new UiStreamMapper(answer.run_id, answer.id, answer.seq);
      const events = [...mapper.replayTools(await this.d.store.toolCalls(answer.id)), ...mapper.stored(answer.status, answer.content)];
      writeAll(sink, events, true);
    } catch (err) {
      this.d.log.error({ ...errInfo(err) }, 'replaying a stored answer failed');
      writeAll(sink, [{ id: '0:0', chunk: { type: 'error', errorText: 'internal: the stored answer could not be read' } }], true);
    }
  }
}

export function writeAll(sink: EventSink, events: UiEvent[], end: boolean): boolean {
  for (const e of events) if (!sink.send({ id: e.id, data: JSON.stringify(e.chunk) })) return false;
  if (end) {
    sink.send({ data: '[DONE]' });
    sink.end();
  }
  return true;
}

// UI message ids are the client's (AI SDK makes 16-character ones); client_msg_id is a
// UUID, so a non-UUID id maps to a stable name-based one and a retry finds the same row.
export function clientMsgIdFor(uiId: string): string {
  return isUuid(uiId) ? uiId.toLowerCase() : stableUuid(`ui-message:${uiId}`);
}
