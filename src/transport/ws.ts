// The WebSocket endpoint on uWS. The upgrade handler rejects what must never become a
// socket (malformed id, foreign Origin, token in the URL, too many pending sockets from
// one client address); everything after the upgrade is the core Session's job.
import { STATUS_CODES } from 'node:http';
import { clientAddress, trustedProxies } from '../core/client-address.js';
import type { Gateway } from '../core/gateway.js';
import { isLoopbackHost, isLoopbackHostname } from '../core/loopback.js';
import type { Session } from '../core/session.js';
import type { SocketPort } from '../core/session-context.js';
import type { Logger } from '../log.js';
import { httpError, AppError } from '../protocol/errors.js';
import { MAX_FRAME_BYTES } from '../protocol/frames.js';
import type { HttpResponse, TemplatedApp, WebSocket } from './uws.js';
import { loadUws } from './uws.js';

interface UserData {
  conv: string;
  ip: string;
  closed: boolean;
  session: Session | undefined;
  drainWaiters: (() => void)[] | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// With no ALLOWED_ORIGINS, only the server's own host and localhost may open sockets
// from a browser. Clients that send no Origin (not browsers) are not subject to it. In
// development mode "the server's own host" must be a loopback one: the Host header of a
// DNS-rebinding page names the attacker's domain.
export function originAllowed(origin: string, host: string, allowed: string[] | undefined, devMode = false): boolean {
  if (origin === '') return true;
  if (allowed !== undefined) return allowed.includes(origin);
  try {
    const u = new URL(origin);
    return (u.host === host && (!devMode || isLoopbackHost(host))) || isLoopbackHostname(u.hostname);
  } catch {
    return false;
  }
}

// The core's view of a uWS socket. A class rather than closures: one small object per
// socket, with its methods shared on the prototype.
class UwsPort implements SocketPort {
  constructor(private readonly ws: WebSocket<UserData>) {}

  send(text: string): boolean {
    if (this.ws.getUserData().closed) return true;
    return this.ws.send(text, false) !== 2; // 2: dropped at the backpressure limit
  }

  close(code: number, reason: string): void {
    const ud = this.ws.getUserData();
    if (ud.closed) return;
    ud.closed = true;
    this.ws.end(code, reason);
  }

  buffered(): number {
    return this.ws.getUserData().closed ? 0 : this.ws.getBufferedAmount();
  }

  drained(): Promise<void> {
    const ud = this.ws.getUserData();
    return new Promise<void>((resolve) => {
      if (ud.closed) return resolve();
      (ud.drainWaiters ??= []).push(resolve);
    });
  }
}

function refuse(res: HttpResponse, err: AppError, status?: number): void {
  const e = httpError(err);
  const code = status ?? e.status;
  res.cork(() => {
    res.writeStatus(`${code} ${STATUS_CODES[code] ?? ''}`).writeHeader('content-type', 'application/json').end(JSON.stringify(e.body), true);
  });
}

export interface WsOptions {
  allowedOrigins: string[] | undefined;
  devMode: boolean;
  trustedProxies: string[] | undefined;
  // per-socket send buffer; past it uWS drops the socket
  maxBufferedBytes: number;
}

export function mountWs(app: TemplatedApp, gateway: Gateway, { allowedOrigins, trustedProxies: proxies, devMode, maxBufferedBytes }: WsOptions, log: Logger): void {
  const uws = loadUws();
  const trusted = trustedProxies(proxies);
  if (trusted) log.info({ trusted_proxies: proxies }, 'client addresses come from X-Forwarded-For when the peer is a trusted proxy');
  if (allowedOrigins === undefined) log.warn('ALLOWED_ORIGINS is unset: browsers may open WebSockets only from this host and localhost');
  app.ws<UserData>('/ws/conversations/:id', {
    compression: uws.DISABLED,
    // uWS drops a socket with 1006 (no close frame) past this; below it we close with a
    // proper 1009 ourselves, so clients learn why.
    maxPayloadLength: 4 * MAX_FRAME_BYTES,
    // uWS sends protocol-level pings on idle sockets; the application heartbeat is ours.
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: maxBufferedBytes,
    closeOnBackpressureLimit: 0, // we close ourselves, with 1013, when a send is dropped
    upgrade: (res, req, context) => {
      const id = req.getParameter(0) ?? '';
      const query = new URLSearchParams(req.getQuery() ?? '');
      const origin = req.getHeader('origin');
      const host = req.getHeader('host');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const ip = clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), trusted);
      if (!UUID.test(id)) return refuse(res, new AppError('invalid_request', 'conversation id must be a UUID'));
      if (query.has('token') || query.has('access_token')) {
        return refuse(res, new AppError('invalid_request', 'tokens go in the first message ({"type":"auth","token":...}), never in the URL'));
      }
      if (!originAllowed(origin, host, allowedOrigins, devMode)) return refuse(res, new AppError('forbidden', `origin ${origin} is not allowed`));
      const admitted = gateway.admit(ip);
      if (admitted === 'draining') return refuse(res, new AppError('unavailable', 'server is shutting down; reconnect'));
      if (admitted === 'too_many_pending') return refuse(res, new AppError('rate_limited', 'too many unauthenticated sockets from this address'));
      res.upgrade<UserData>({ conv: id.toLowerCase(), ip, closed: false, session: undefined, drainWaiters: undefined }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const ud = ws.getUserData();
      ud.session = gateway.open(ud.conv, ud.ip, new UwsPort(ws));
    },
    drain: (ws) => {
      const ud = ws.getUserData();
      const waiters = ud.drainWaiters;
      ud.drainWaiters = undefined;
      for (const w of waiters ?? []) w();
    },
    message: (ws, message, isBinary) => {
      const s = ws.getUserData().session;
      if (!s) return;
      if (message.byteLength > MAX_FRAME_BYTES) return s.fail(new AppError('message_too_big'));
      if (isBinary) s.onBinary();
      else s.onText(Buffer.from(message).toString('utf8'));
    },
    close: (ws) => {
      const ud = ws.getUserData();
      ud.closed = true;
      for (const w of ud.drainWaiters ?? []) w();
      ud.drainWaiters = undefined;
      ud.session?.closed();
    },
  });
}
