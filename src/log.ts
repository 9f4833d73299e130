// JSON-lines logging. Tokens and message bodies must never reach a log: call sites log
// metadata only, and the redaction list is a second line of defence for the obvious
// field names in case someone logs an object wholesale.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization',
  'body', '*.body', 'content', '*.content', 'password', '*.password', 'secret', '*.secret',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'chat-backend' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

// Error objects can carry connection strings or SQL with values; log only the kind
// and a bounded message.
export function errInfo(err: unknown): { err_name: string; err_message: string } {
  if (err instanceof Error) return { err_name: err.name, err_message: err.message.slice(0, 300) };
  return { err_name: typeof err, err_message: String(err).slice(0, 300) };
}
