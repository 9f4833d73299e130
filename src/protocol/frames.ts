// WebSocket protocol v1: every client frame validated with zod, every server frame typed.
// The client SDK and the server both build on this module.
import { z } from 'zod';
import { text } from './rest.js';
import { hasLoneSurrogate, hasNul } from './text.js';
import type { WireClientFrame } from './wire.js';

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
// The owner's note on a denied tool call (WebSocket deny and HTTP decision alike), stored
// as sent with the decision.
export const ApprovalNote = text(500, { blank: true, trim: false });
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
  // the conversation owner's answer to a tool.approval_request
  z.strictObject({ type: z.literal('approve'), approval_id: z.uuid({ error: 'must be a UUID' }) }),
  z.strictObject({ type: z.literal('deny'), approval_id: z.uuid({ error: 'must be a UUID' }), reason: ApprovalNote.optional() }),
], { error: (iss) => (iss.code === 'invalid_union' ? 'unknown frame type: expected auth, message, typing, ping, pong, cancel, reauth, approve or deny' : undefined) });

export type ClientFrame = z.output<typeof ClientFrame>;
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

export type { ActiveRun, ServerFrame, ServerFrameType, SessionInfo, WireMessage } from './wire.js';

// The zod schema and the wire type the client SDK builds on must describe the same frames.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const clientFramesAgree: Same<ClientFrame, WireClientFrame> = true;
void clientFramesAgree;
