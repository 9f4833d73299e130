// REST wire contract: request and response shapes, validated with zod and exported to
// OpenAPI from the same definitions.
import { z } from 'zod';
import { hasLoneSurrogate, hasNul, NO_NUL, NOT_BLANK_NO_NUL, unstorableJson } from './text.js';

export const Uuid = z.uuid({ error: 'must be a UUID' });

export const IdParams = z.strictObject({ id: Uuid });

// List cursors are "<microseconds since 1970>_<uuid>" (src/core/cursor.ts): simple enough
// for the description to state the whole format, and every string of it is a usable
// position, so the description and the server agree on what is accepted.
export const CURSOR_PATTERN = /^[0-9]{1,17}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const Cursor = z.string().regex(CURSOR_PATTERN, 'not a cursor returned by this API').describe('next_cursor from the previous page');

// A text field as stored. Limits apply to what was sent (so the description's maxLength
// and pattern say exactly what is accepted), then surrounding whitespace is trimmed unless
// `trim: false` keeps it as sent. PostgreSQL cannot store U+0000 and UTF-8 cannot encode an
// unpaired surrogate: both are refused naming the field rather than failing in the database
// or changing silently.
export function text(max: number, opts: { blank?: boolean; trim?: boolean } = {}) {
  const blank = opts.blank ?? false;
  const checked = z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(blank ? NO_NUL : NOT_BLANK_NO_NUL, { error: (iss) => (hasNul(String(iss.input)) ? 'must not contain NUL characters' : 'must contain a non-whitespace character') })
    .refine((v) => !hasLoneSurrogate(v), 'must not contain unpaired UTF-16 surrogates (not valid Unicode)');
  return opts.trim === false ? checked : checked.trim();
}

// JSON Schema cannot say "no NUL in any string, however deep" without recursion, which
// generators and validators handle poorly: metadata nests at most METADATA_DEPTH levels, and
// every key and string at every level is NUL-free.
const METADATA_DEPTH = 4;
const MetaString = z.string().regex(NO_NUL, 'must not contain NUL characters');
function metaValue(depth: number): z.ZodType {
  const scalar = z.union([MetaString, z.number(), z.boolean(), z.null()]);
  if (depth === 0) return scalar;
  const next = metaValue(depth - 1);
  return z.union([scalar, z.array(next), z.record(MetaString, next)], { error: `must be JSON nested at most ${METADATA_DEPTH} levels deep` });
}

const Metadata = z
  .record(MetaString, metaValue(METADATA_DEPTH - 1))
  .refine((m) => JSON.stringify(m).length <= 16_384, 'must serialise to at most 16 KiB')
  .refine((m) => unstorableJson(m) === undefined, 'must not contain NUL characters or unpaired UTF-16 surrogates')
  .describe(`free-form JSON object kept with the conversation (at most ${METADATA_DEPTH} levels deep, 16 KiB serialised)`);

const Title = text(200, { blank: true }).describe('conversation title');

export const CreateConversationBody = z.strictObject({
  title: Title.optional().default(''),
  metadata: Metadata.optional().default({}),
});

export const RenameConversationBody = z.strictObject({ title: Title });

export const ListConversationsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('page size, 1-100'),
  cursor: Cursor.optional(),
});

export const ListMessagesQuery = z.strictObject({
  after_seq: z.coerce.number().int().min(0).default(0).describe('return messages with seq greater than this'),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe('page size, 1-500'),
});

export const ConversationJson = z.object({
  id: Uuid,
  title: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  last_seq: z.number().int().describe('seq of the newest message; 0 when empty'),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const ConversationPage = z.object({
  items: z.array(ConversationJson),
  next_cursor: z.string().nullable().describe('pass as ?cursor= for the next (older) page; null on the last'),
});

export const MessageJson = z.object({
  id: Uuid,
  conversation_id: Uuid,
  seq: z.number().int().describe('gap-free position in the conversation, from 1'),
  role: z.enum(['user', 'assistant', 'system', 'tool']),
  status: z.enum(['streaming', 'complete', 'cancelled', 'interrupted', 'failed']),
  content: z.string(),
  client_msg_id: Uuid.nullable(),
  run_id: Uuid.nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const MessagePage = z.object({
  items: z.array(MessageJson),
  has_more: z.boolean(),
  last_seq: z.number().int(),
});

export const ErrorJson = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

export const HealthJson = z.object({
  status: z.enum(['ok', 'fail']),
  checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'fail']) }).loose()),
});
