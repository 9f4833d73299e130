// Live load through the edge: each client has its own conversation and sends, waits for the
// answer to end, and sends again, until stopped. Every acknowledged message is remembered so
// that after a fault the suite can check it was stored exactly once and every transcript
// ends as stored, with no answer left `streaming`.
import type { ChatClient, ConnectionState } from '../../../src/client/index.js';
import type postgres from 'postgres';
import type { Edge } from './edge.js';
import { storedRows, type StoredRow } from './edge.js';

export interface LoadClient {
  conv: string;
  client: ChatClient;
  acked: { seq: number; text: string }[];
  states: ConnectionState[];
  errors: string[];
}

export interface Load {
  clients: LoadClient[];
  /** Resolves once every client has had at least `n` more answers end. */
  progressed(n: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
  /** Problems found against PostgreSQL after stop (empty: all good). */
  verify(sql: postgres.Sql): Promise<string[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLoad(edge: Edge, token: string, count: number, prompt: (i: number, n: number) => string): Promise<Load> {
  let running = true;
  const ended = new Map<string, number>();
  const clients: LoadClient[] = [];
  const loops: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const conv = await edge.createConversation(token);
    const lc: LoadClient = { conv, client: undefined as unknown as ChatClient, acked: [], states: [], errors: [] };
    lc.client = edge.client(conv, token, { on: { state: (s) => lc.states.push(s) } });
    lc.client.on('completed', () => ended.set(conv, (ended.get(conv) ?? 0) + 1));
    lc.client.on('failed', () => ended.set(conv, (ended.get(conv) ?? 0) + 1));
    clients.push(lc);
    await lc.client.connect();
    loops.push(
      (async () => {
        for (let n = 0; running; n++) {
          const text = prompt(i, n);
          try {
            const ack = await lc.client.send(text);
            lc.acked.push({ seq: ack.seq, text });
          } catch (err) {
            lc.errors.push((err as Error).message);
          }
          // The answer to end (complete or interrupted), then the next turn.
          while (running && lc.client.messages.some((m) => m.role === 'assistant' && m.status === 'streaming')) await sleep(50);
          await sleep(100);
        }
      })(),
    );
  }
  return {
    clients,
    progressed: async (n, timeoutMs) => {
      const base = new Map(clients.map((c) => [c.conv, ended.get(c.conv) ?? 0]));
      const deadline = Date.now() + timeoutMs;
      while (clients.some((c) => (ended.get(c.conv) ?? 0) - base.get(c.conv)! < n)) {
        if (Date.now() > deadline) throw new Error(`load did not progress by ${n} answers per client within ${timeoutMs} ms`);
        await sleep(200);
      }
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
    verify: async (sql) => {
      const problems: string[] = [];
      for (const c of clients) {
        const rows: StoredRow[] = await storedRows(sql, c.conv);
        for (const a of c.acked) {
          const stored = rows.filter((r) => r.role === 'user' && r.content === a.text);
          if (stored.length !== 1) problems.push(`${c.conv}: acked "${a.text}" stored ${stored.length} times`);
          else if (stored[0]!.seq !== a.seq) problems.push(`${c.conv}: acked "${a.text}" as seq ${a.seq}, stored as ${stored[0]!.seq}`);
        }
        const streaming = rows.filter((r) => r.status === 'streaming');
        if (streaming.length) problems.push(`${c.conv}: ${streaming.length} answers left streaming`);
        const view = c.client.messages.map((m) => ({ id: m.id, seq: m.seq, role: m.role, status: m.status, content: m.content }));
        const stored = rows.map((r) => ({ id: r.id, seq: r.seq, role: r.role, status: r.status, content: r.content }));
        if (JSON.stringify(view) !== JSON.stringify(stored)) {
          const at = stored.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(view[i]));
          const brief = (m: { seq?: number; role: string; status: string; content: string } | undefined) => (m ? `${m.role} seq ${m.seq} ${m.status} "${m.content.slice(0, 40)}…" (${m.content.length} chars)` : 'nothing');
          problems.push(`${c.conv}: client transcript (${view.length} messages) differs from the stored one (${stored.length}); first at ${at}: client ${brief(view[at])}, stored ${brief(stored[at])}`);
        }
      }
      return problems;
    },
  };
}
