// Server-sent events over a uWS response: status and headers at once (so fetch resolves
// and proxies stop buffering), then `id:`/`data:` events written inside cork. uWS buffers
// what the socket does not take; once a write reports backpressure we count what piles up
// until onWritable says it drained, and past MAX_BACKLOG_BYTES the response is closed: the
// client resumes from its Last-Event-ID or with a GET, which costs less than our memory.
import type { EventSink } from '../api/route.js';
import type { HttpResponse } from './uws.js';

const MAX_BACKLOG_BYTES = 1024 * 1024;
// Proxies drop idle responses (nginx after 60 s); a paused run can wait far longer.
const KEEPALIVE_MS = 15_000;

function writeHead(res: HttpResponse, requestId: string, headers: Record<string, string>): void {
  res.writeStatus('200 OK');
  res.writeHeader('x-request-id', requestId);
  res.writeHeader('x-content-type-options', 'nosniff');
  res.writeHeader('content-type', 'text/event-stream; charset=utf-8');
  res.writeHeader('cache-control', 'no-cache, no-transform');
  res.writeHeader('x-accel-buffering', 'no');
  for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
}

// HEAD of a stream: its headers, no body and no Content-Length (see reply in http.ts).
// The stream is started on a sink that is already closed, so whatever it holds (a run
// follower) is released at once.
export function headEventStream(res: HttpResponse, requestId: string, headers: Record<string, string>, start: (sink: EventSink) => void): void {
  res.cork(() => {
    writeHead(res, requestId, headers);
    res.endWithoutBody();
  });
  start({ send: () => false, end: () => undefined, onClose: (cb) => cb() });
}

export function openEventStream(
  res: HttpResponse, requestId: string, headers: Record<string, string>,
  onAbort: (cb: () => void) => void, start: (sink: EventSink) => void,
): void {
  let open = true;
  let backlog: number | undefined; // undefined: not backpressured
  const closers: (() => void)[] = [];
  const closed = () => {
    if (!open) return;
    open = false;
    clearInterval(keepalive);
    for (const cb of closers.splice(0)) cb();
  };
  onAbort(closed);
  const write = (text: string): boolean => {
    if (!open) return false;
    let ok = true;
    res.cork(() => { ok = res.write(text); });
    if (backlog !== undefined) backlog += Buffer.byteLength(text);
    else if (!ok) backlog = 0;
    if (backlog !== undefined && backlog > MAX_BACKLOG_BYTES) {
      res.close(); // onAborted fires and runs `closed`
      closed();
      return false;
    }
    return true;
  };
  res.onWritable(() => {
    backlog = undefined;
    return true;
  });
  res.cork(() => {
    writeHead(res, requestId, headers);
    res.write(': stream\n\n');
  });
  const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  start({
    send: (ev) => write(`${ev.id !== undefined ? `id: ${ev.id}\n` : ''}data: ${ev.data}\n\n`),
    end: () => {
      if (!open) return;
      res.cork(() => res.end());
      closed();
    },
    onClose: (cb) => {
      if (open) closers.push(cb);
      else cb();
    },
  });
}
