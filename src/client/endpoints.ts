// The WebSocket and REST addresses of one conversation, from the server's base URL.
import type { WireMessage } from './types.js';

export interface Endpoints {
  ws: string;
  http: string;
}

export function endpoints(url: string, conversationId: string): Endpoints {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  const u = new URL(url, here);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new TypeError(`url must be http(s) or ws(s), got ${u.protocol}`);
  const base = u.pathname.replace(/\/+$/, '');
  return {
    ws: `${secure ? 'wss' : 'ws'}://${u.host}${base}/ws/conversations/${encodeURIComponent(conversationId)}`,
    http: `${secure ? 'https' : 'http'}://${u.host}${base}`,
  };
}

interface RestMessage extends Omit<WireMessage, 'user_id'> {
  user_id?: string | null;
}

// Stored messages after `afterSeq` through the REST API, page by page: what a resync
// (the server would not replay that far back) asks the client to do.
export async function fetchMessagesAfter(httpBase: string, conversationId: string, afterSeq: number, token: string, doFetch: typeof fetch): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  for (let after = afterSeq, guard = 0; guard < 1000; guard++) {
    const res = await doFetch(`${httpBase}/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?after_seq=${after}&limit=500`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`loading messages failed: HTTP ${res.status}`);
    const page = (await res.json()) as { items: RestMessage[]; has_more: boolean };
    for (const m of page.items) out.push({ ...m, user_id: m.user_id ?? null });
    const last = page.items[page.items.length - 1];
    if (!page.has_more || last === undefined) break;
    after = last.seq;
  }
  return out;
}
