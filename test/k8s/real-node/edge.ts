// The cluster's TLS edge and its clients: Debian's nginx (test/e2e/nginx.ts) in front of the
// ChatBackend's Service cluster IP (reached through kube-proxy's rules), and the client SDK
// and HTTPS requests that trust the edge's certificate for this run only.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import postgres from 'postgres';
import WebSocket from 'ws';
import { ChatClient, type ClientOptions } from '../../../src/client/index.js';
import type { SocketFactory } from '../../../src/client/socket.js';
import { startTlsProxy, type TlsProxy } from '../../e2e/nginx.js';
import type { RealCluster } from './cluster.js';
import { APP_NS, PG_PASSWORD } from './workloads.js';

export interface Edge {
  proxy: TlsProxy;
  ca: Buffer;
  url: string;
  WebSocket: SocketFactory;
  request(method: string, pathname: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  createConversation(token: string): Promise<string>;
  client(conv: string, token: string, o?: Partial<ClientOptions>): ChatClient;
}

export async function clusterIp(cluster: RealCluster, service: string): Promise<string> {
  const svc = JSON.parse(await cluster.kubectl(['-n', APP_NS, 'get', 'service', service, '-o', 'json'])) as { spec: { clusterIP: string } };
  return svc.spec.clusterIP;
}

export async function startEdge(cluster: RealCluster, service: string): Promise<Edge> {
  const proxy = await startTlsProxy(80, undefined, { upstreamHost: await clusterIp(cluster, service) });
  const ca = readFileSync(path.join(proxy.dir, 'cert.pem'));
  // The SDK takes a WebSocket class; this one trusts the edge's certificate.
  class TrustingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { ca });
    }
  }
  const request = (method: string, pathname: string, token: string, body?: unknown) =>
    new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const req = https.request(`${proxy.url}${pathname}`, { method, ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, timeout: 15_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as unknown) : undefined }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${pathname} timed out`)));
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const WebSocketFactory = TrustingWebSocket as unknown as SocketFactory;
  return {
    proxy,
    ca,
    url: proxy.url,
    WebSocket: WebSocketFactory,
    request,
    createConversation: async (token) => {
      const r = await request('POST', '/api/v1/conversations', token, { title: 'real node' });
      if (r.status !== 201) throw new Error(`create conversation through the edge: ${r.status} ${JSON.stringify(r.json)}`);
      return (r.json as { id: string }).id;
    },
    client: (conv, token, o = {}) =>
      new ChatClient(conv, { url: proxy.url, getToken: () => token, WebSocket: WebSocketFactory, reconnect: { retries: Infinity, baseDelayMs: 100, maxDelayMs: 1000 }, connectTimeoutMs: 5000, ...o }),
  };
}

/** A connection to the in-cluster PostgreSQL through its Service's cluster IP. */
export async function clusterSql(cluster: RealCluster): Promise<postgres.Sql> {
  return postgres(`postgres://postgres:${PG_PASSWORD}@${await clusterIp(cluster, 'chat-pg')}:5432/postgres`, { max: 2, onnotice: () => undefined, connect_timeout: 5 });
}

export interface StoredRow {
  id: string;
  seq: number;
  role: string;
  status: string;
  content: string;
}

export function storedRows(sql: postgres.Sql, conv: string): Promise<StoredRow[]> {
  return sql<StoredRow[]>`SELECT id, seq::int AS seq, role, status, content FROM messages WHERE conversation_id = ${conv} ORDER BY seq`;
}
