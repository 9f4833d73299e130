// NATS connection options from the typed config: credentials and TLS files are read here,
// at start, so a missing or unreadable file fails start naming its variable. Credential
// files are read again at every reconnect, so a rotated Secret is picked up without a restart.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator, type Authenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.js';

export class NatsConfigError extends Error {}

function readVar(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new NatsConfigError(`${variable}=${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

// Reads at start (throwing), then re-reads on each call, keeping the last good value when
// the file is briefly missing (a Secret being swapped).
function fileSource(variable: string, file: string, check: (text: string) => string | undefined): () => string {
  let last = readVar(variable, file);
  const problem = check(last);
  if (problem !== undefined) throw new NatsConfigError(`${variable}=${file}: ${problem}`);
  return () => {
    try {
      const text = readFileSync(file, 'utf8');
      if (check(text) === undefined) last = text;
    } catch {
      // keep the last good value: a later reconnect reads the file again
    }
    return last;
  };
}

const nonEmpty = (t: string) => (t.trim() === '' ? 'the file is empty' : undefined);

export function natsConnectionOptions(cfg: NatsConfig, name: string): NodeConnectionOptions {
  let authenticator: Authenticator | undefined;
  if (cfg.credsFile !== undefined) {
    const creds = fileSource('NATS_CREDS_FILE', cfg.credsFile, (t) => (/-----BEGIN NATS USER JWT-----/.test(t) && /-----BEGIN USER NKEY SEED-----/.test(t) ? undefined : 'not a NATS .creds file (expected a user JWT and an nkey seed block)'));
    authenticator = credsAuthenticator(() => new TextEncoder().encode(creds()));
  } else if (cfg.user !== undefined) {
    const pw = cfg.password;
    const pass = pw === undefined ? () => '' : 'value' in pw ? () => pw.value : trimmed(fileSource('NATS_PASSWORD_FILE', pw.file, nonEmpty));
    authenticator = usernamePasswordAuthenticator(cfg.user, pass);
  } else if (cfg.token !== undefined) {
    const tk = cfg.token;
    authenticator = tokenAuthenticator('value' in tk ? tk.value : trimmed(fileSource('NATS_TOKEN_FILE', tk.file, nonEmpty)));
  }
  const pem = (variable: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    const text = readVar(variable, file);
    if (!text.includes('-----BEGIN')) throw new NatsConfigError(`${variable}=${file}: not a PEM file`);
    return text;
  };
  const wantsTls = cfg.tls !== undefined || cfg.servers.some((s) => s.startsWith('tls://'));
  const tls = wantsTls
    ? {
        ca: pem('NATS_TLS_CA', cfg.tls?.ca),
        cert: pem('NATS_TLS_CERT', cfg.tls?.cert),
        key: pem('NATS_TLS_KEY', cfg.tls?.key),
      }
    : undefined;
  return {
    servers: cfg.servers,
    name,
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) } : {}),
    timeout: cfg.connectTimeoutMs,
    // A dependency's outage must never end the process: reconnect forever.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    reconnectJitter: 500,
    // A dead link is noticed within ~3 s rather than the default minutes.
    pingInterval: 1000,
    maxPingOut: 3,
    // A replica never needs its own events back; the server does not send them.
    noEcho: true,
  };
}

function trimmed(f: () => string): () => string {
  return () => f().trim();
}
