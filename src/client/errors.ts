// The error a send() or connect() promise rejects with when the client stops for good.
import type { CloseInfo, CloseReason } from './types.js';

export class ChatClientError extends Error {
  override readonly name = 'ChatClientError';
  constructor(readonly reason: CloseReason | 'invalid_message', message: string, readonly lastClose?: CloseInfo) {
    super(message);
  }
}

const WORDS: Record<number, string> = {
  1000: 'closed normally',
  1001: 'the server is restarting',
  1006: 'the connection was lost',
  1009: 'a frame was too big',
  1013: 'the connection was too slow to keep up',
  4000: 'the server stopped answering',
  4400: 'the server rejected the first frame (protocol error)',
  4401: 'the token was rejected or has expired',
  4404: 'the conversation does not exist or is not yours',
  4408: 'authentication took too long',
  4410: 'heartbeats were missed',
  4429: 'too many connections or frames',
};

// A close code and reason in words, for state displays and errors.
export function describeClose(c: CloseInfo): string {
  const words = WORDS[c.code] ?? `closed with code ${c.code}`;
  return c.reason ? `${words} (${c.reason})` : words;
}
