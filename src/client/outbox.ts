// Sent messages not yet acknowledged. They are sent again after every reconnect: the
// server stores a client_msg_id once and answers a retry with the original ack.
import type { Ack } from './types.js';

interface Pending {
  clientMsgId: string;
  content: string;
  resolve(a: Ack): void;
  reject(err: Error): void;
}

export class Outbox {
  private readonly pending = new Map<string, Pending>();

  add(clientMsgId: string, content: string): Promise<Ack> {
    return new Promise<Ack>((resolve, reject) => {
      this.pending.set(clientMsgId, { clientMsgId, content, resolve, reject });
    });
  }

  has(clientMsgId: string): boolean {
    return this.pending.has(clientMsgId);
  }

  settle(a: Ack): boolean {
    const p = this.pending.get(a.clientMsgId);
    if (!p) return false;
    this.pending.delete(a.clientMsgId);
    p.resolve(a);
    return true;
  }

  // In the order they were sent, so the conversation keeps the user's order.
  frames(): { type: 'message'; client_msg_id: string; content: string }[] {
    return [...this.pending.values()].map((p) => ({ type: 'message', client_msg_id: p.clientMsgId, content: p.content }));
  }

  get size(): number {
    return this.pending.size;
  }

  // The server refused this message for good (bad content): it is not sent again.
  reject(clientMsgId: string, err: Error): boolean {
    const p = this.pending.get(clientMsgId);
    if (!p) return false;
    this.pending.delete(clientMsgId);
    p.reject(err);
    return true;
  }

  rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}
