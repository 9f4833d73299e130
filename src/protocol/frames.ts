// WebSocket protocol v1: every client frame validated with zod, every server frame typed.
// The client SDK and the server both build on this module.
import { z } from 'zod';
import { hasLoneSurrogate, hasNul } from './text.js';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_MESSAGE_CHARS = 32_000;

// Content is stored exactly as sent (never trimmed); what cannot be stored intact is refused.
const Content = z
  .string()
  .max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`)
  .refine((s) => s.trim() !== '', 'must contain a non-whitespace character')
  .refine((s) => !hasNul(s), 'must not contain NUL characters')
  .refine((s) => !hasLoneSurrogate(s), 'must not contain unpaired UTF-16 surrogates (not valid Unicode)');
const Token = z.string().min(1, 'must not be empty').max(8192, 'must be at most 8192 characters');

export const AuthFrame = z.strictObject({
  type: z.literal('auth'),
  token: Token,
  user_id: z.string().max(255).optional(),
  last_seq: z.number().int().min(0).optional(),
});

export const ClientFrame = z.discriminatedUnion('type', [
  AuthFrame,
  z.strictObject({
    type: z.literal('message'),
    client_msg_id: z.uuid({ error: 'must be a UUID' }),
    content: Content,
  }),
  z.strictObject({ type: z.literal('typing'), state: z.enum(['start', 'stop']) }),
  z.strictObject({ type: z.literal('ping'), id: z.union([z.string().max(64), z.number()]) }),
  z.strictObject({ type: z.literal('pong'), id: z.union([z.string().max(64), z.number()]) }),
  z.strictObject({ type: z.literal('cancel'), run_id: z.uuid({ error: 'must be a UUID' }) }),
  z.strictObject({ type: z.literal('reauth'), token: Token }),
], { error: (iss) => (iss.code === 'invalid_union' ? 'unknown frame type: expected auth, message, typing, ping, pong, cancel or reauth' : undefined) });

export type ClientFrame = z.output<typeof ClientFrame>;
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

export interface WireMessage {
  id: string;
  seq: number;
  role: string;
  status: string;
  content: string;
  client_msg_id: string | null;
  run_id: string | null;
  user_id: string | null;
  created_at: string;
}

export interface ActiveRun {
  run_id: string;
  message_id: string;
  seq: number;
}

export interface SessionInfo {
  session_id: string;
  user_id: string;
}

export type ServerFrame =
  | { type: 'ready'; protocol: number; conversation_id: string; user_id: string; session_id: string; last_seq: number; active_run: ActiveRun | null; heartbeat_ms: number }
  | { type: 'message'; message: WireMessage }
  | { type: 'ack'; client_msg_id: string; message_id: string; seq: number; duplicate: boolean }
  | { type: 'run.started'; run_id: string; message_id: string; seq: number; agent: string }
  | { type: 'agent.thinking'; run_id: string; step: number; text: string }
  | { type: 'tool.call'; run_id: string; tool_call_id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'tool.result'; run_id: string; tool_call_id: string; status: 'succeeded' | 'failed'; result?: unknown; error?: string; duration_ms: number }
  | { type: 'response.delta'; run_id: string; message_id: string; offset: number; delta: string }
  | { type: 'run.snapshot'; run_id: string; message_id: string; seq: number; content: string; offset: number }
  | { type: 'response.completed'; run_id: string; message_id: string; seq: number; content: string; cached: boolean; usage: { prompt_tokens: number; completion_tokens: number } }
  | { type: 'run.failed'; run_id: string; message_id: string; code: string; message: string }
  | { type: 'typing'; session_id: string; user_id: string; state: 'start' | 'stop' }
  | { type: 'presence'; sessions: SessionInfo[] }
  | { type: 'ping'; id: string; t: number }
  | { type: 'pong'; id: string | number }
  | { type: 'error'; code: string; message: string; issues?: { path: string; message: string }[]; client_msg_id?: string }
  | { type: 'resync'; reason: string };

export type ServerFrameType = ServerFrame['type'];
