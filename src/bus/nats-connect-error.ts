// Why the first connection to NATS failed, as a start error naming the variable to fix:
// a refused credential names the credential, an untrusted server certificate names
// NATS_TLS_CA, anything else names NATS_URL.
import type { NatsConfig } from '../config.js';
import { NatsConfigError } from './nats-options.js';

// URLs without their credentials, for error messages and logs.
function shownServers(servers: string[]): string {
  return servers.map((s) => s.replace(/\/\/[^@/]*@/, '//<redacted>@')).join(',');
}

function credentialVariable(cfg: NatsConfig): string {
  if (cfg.credsFile !== undefined) return 'NATS_CREDS_FILE';
  if (cfg.user !== undefined) return cfg.password && 'file' in cfg.password ? 'NATS_USER, NATS_PASSWORD_FILE' : 'NATS_USER, NATS_PASSWORD';
  if (cfg.token !== undefined) return 'file' in cfg.token ? 'NATS_TOKEN_FILE' : 'NATS_TOKEN';
  return 'NATS_CREDS_FILE, NATS_USER, NATS_TOKEN (none set)';
}

// Node's codes for a server certificate that does not verify against the trusted CAs.
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

export function natsConnectError(err: unknown, cfg: NatsConfig): NatsConfigError {
  if (err instanceof NatsConfigError) return err;
  const message = (err as Error).message;
  const code = (err as { code?: unknown }).code;
  const at = shownServers(cfg.servers);
  if (/authori[sz]ation|authentication/i.test(message)) return new NatsConfigError(`${credentialVariable(cfg)}: NATS at ${at} refused the credentials (${message})`);
  if (typeof code === 'string' && UNTRUSTED.has(code)) {
    const what = cfg.tls?.ca === undefined
      ? `NATS_TLS_CA=unset: the TLS certificate of NATS at ${at} is not signed by a system CA; set NATS_TLS_CA to the CA that signed it`
      : `NATS_TLS_CA=${cfg.tls.ca}: the TLS certificate of NATS at ${at} is not signed by this CA`;
    return new NatsConfigError(`${what} (${code}: ${message})`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new NatsConfigError(`NATS_URL=${at}: the host is not named in the NATS server's TLS certificate (${message})`);
  // A server that requires client certificates drops a client without one after the
  // handshake, which the client only sees as a timeout.
  const hint = cfg.tls !== undefined && cfg.tls.cert === undefined && /timeout/i.test(message) ? '; if NATS requires client certificates, set NATS_TLS_CERT and NATS_TLS_KEY' : '';
  return new NatsConfigError(`NATS_URL=${at}: cannot connect to NATS (${message})${hint}`);
}
