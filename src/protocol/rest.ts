// REST wire contract: request and response shapes, validated with zod and exported to
// OpenAPI from the same definitions.
import { z } from 'zod';

export const Uuid = z.uuid({ error: 'must be a UUID' });

export const IdParams = z.strictObject({ id: Uuid });

// PostgreSQL text and jsonb cannot hold U+0000; reject it here with the field's name
// instead of failing in the database.
const noNul = (s: string) => !s.includes('\u0000');

const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 16_384, 'must serialise to at most 16 KiB')
  .refine((m) => !JSON.stringify(m).includes('\\u0000'), 'must not contain NUL characters')
  .describe('free-form JSON object kept with the conversation');

const Title = z
  .string()
  .trim()
  .max(200, 'must be at most 200 characters')
  .refine(noNul, 'must not contain NUL characters')
  .describe('conversation title');

export const CreateConversationBody = z.strictObject({
  title: Title.optional().default(''),
  metadata: Metadata.optional().default({}),
});

export const RenameConversationBody = z.strictObject({ title: Title });

export const ListConversationsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('page size, 1-100'),
  cursor: z.string().min(1).max(512).optional().describe('next_cursor from the previous page'),
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
