// The one shape of a message inside the server, and its one conversion to JSON. The
// database maps its rows to Message (db/messages.ts, messageFromRow); everything in core
// and the REST handlers work with Message; clients see one of two projections of toJson:
// the WebSocket `message` frame (WireMessage, protocol/wire.ts) and the REST body
// (MessageJson, protocol/rest.ts). A new column is added to MESSAGE_COLS and Message, then
// to the projections that should show it: MessageJson's schema, WireMessage and
// WIRE_MESSAGE_KEYS (the compiler holds the last two equal).
import type { z } from 'zod';
import type { WireMessage } from '../protocol/frames.js';
import { MessageJson } from '../protocol/rest.js';

export type MessageRole = 'user' | 'assistant' | 'system' | 'tool';
export type MessageStatus = 'streaming' | 'complete' | 'cancelled' | 'interrupted' | 'failed';

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  role: MessageRole;
  status: MessageStatus;
  content: string;
  client_msg_id: string | null;
  run_id: string | null;
  user_id: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

// Every field, dates as ISO strings.
export function toJson(m: Message): Json<Message> {
  return { ...m, created_at: m.created_at.toISOString(), updated_at: m.updated_at.toISOString() };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

export const WIRE_MESSAGE_KEYS = ['id', 'seq', 'role', 'status', 'content', 'client_msg_id', 'run_id', 'user_id', 'created_at'] as const;
type WireKey = (typeof WIRE_MESSAGE_KEYS)[number];
// The key list, WireMessage and Message must agree: a field added to WireMessage and not
// listed here (or not in Message) is a type error, not a field silently missing on the wire.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const wireKeysAgree: Same<WireKey, keyof WireMessage> = true;
void wireKeysAgree;

// What a WebSocket `message` frame carries.
export function wireMessage(m: Message): WireMessage {
  return pick(toJson(m), WIRE_MESSAGE_KEYS);
}

const REST_KEYS = MessageJson.keyof().options;

// What the REST API answers: the fields MessageJson declares.
export function messageJson(m: Message): z.input<typeof MessageJson> {
  return pick(toJson(m), REST_KEYS);
}
