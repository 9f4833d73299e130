// The request body AI SDK's DefaultChatTransport (useChat) sends: the chat id (our
// conversation id), every message of the chat with its parts, and the trigger. Only the
// last user message is new to us; earlier ones are ours already.
import { z } from 'zod';
import { MAX_MESSAGE_CHARS } from './frames.js';

const UiPart = z.looseObject({ type: z.string().min(1, 'must not be empty').max(100) });

const UiMessage = z.looseObject({
  id: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  role: z.enum(['user', 'assistant', 'system'], { error: 'must be user, assistant or system' }),
  parts: z.array(UiPart).max(1000, 'must hold at most 1000 parts'),
});

export const UiChatBody = z.looseObject({
  id: z.uuid({ error: 'must be the conversation id (a UUID)' }),
  messages: z.array(UiMessage).min(1, 'must hold at least the new user message').max(10_000, 'must hold at most 10000 messages')
    .describe('the chat so far; the last message must be the user message to answer, holding a non-empty text part (at most MAX_MESSAGE_CHARS characters, no NUL)'),
  trigger: z.enum(['submit-message', 'regenerate-message'], { error: 'must be submit-message or regenerate-message' }).optional(),
  messageId: z.string().max(200).optional(),
}).superRefine((b, ctx) => {
  // zod runs this even when the shape above failed: then there is nothing to add
  if (!Array.isArray(b.messages) || b.messages.length === 0 || typeof b.messages.at(-1) !== 'object') return;
  const i = b.messages.length - 1;
  const last = b.messages[i]!;
  if (last.role !== 'user') {
    ctx.addIssue({ code: 'custom', path: ['messages', i, 'role'], message: 'the last message must be the user message to answer' });
    return;
  }
  const text = lastUserText(b as UiChatBody);
  if (text.trim() === '') ctx.addIssue({ code: 'custom', path: ['messages', i, 'parts'], message: 'must hold a non-empty text part' });
  else if (text.length > MAX_MESSAGE_CHARS) ctx.addIssue({ code: 'custom', path: ['messages', i, 'parts'], message: `text must be at most ${MAX_MESSAGE_CHARS} characters` });
  else if (text.includes('\u0000')) ctx.addIssue({ code: 'custom', path: ['messages', i, 'parts'], message: 'must not contain NUL characters' });
});

export type UiChatBody = z.output<typeof UiChatBody>;

export function lastUserText(b: UiChatBody): string {
  const last = b.messages[b.messages.length - 1]!;
  if (!Array.isArray(last.parts)) return '';
  return last.parts
    .filter((p) => p.type === 'text' && typeof (p as { text?: unknown }).text === 'string')
    .map((p) => (p as unknown as { text: string }).text)
    .join('');
}
