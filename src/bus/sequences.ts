// Gap detection without JetStream. A replica numbers the events it publishes on a
// conversation's subject while it watches that conversation (1, 2, 3, …); a replica
// receiving them remembers the last number per origin and notices a skipped one: an event
// lost between NATS servers, or dropped by its publisher. Both sides forget a
// conversation when they stop watching it, so the maps hold only watched conversations
// (and per conversation at most one entry per replica).
export class Sequences {
  private readonly sent = new Map<string, number>();
  private readonly seen = new Map<string, Map<string, number>>();

  next(conv: string): number {
    const n = (this.sent.get(conv) ?? 0) + 1;
    this.sent.set(conv, n);
    return n;
  }

  // True when events of `origin` before `seq` went missing.
  gap(conv: string, origin: string, seq: number): boolean {
    let m = this.seen.get(conv);
    if (!m) this.seen.set(conv, (m = new Map()));
    const last = m.get(origin);
    m.set(origin, seq);
    // A number not above the last one: the origin started numbering again (it stopped and
    // restarted watching); anything before this number in the new run was missed.
    if (last === undefined || seq <= last) return last !== undefined && seq > 1;
    return seq > last + 1;
  }

  // After a reconnect the replica re-reads everything anyway: holes from the outage are
  // not news.
  forgetSeen(): void {
    this.seen.clear();
  }

  // A watch began or ended: numbering and what was seen start over.
  reset(conv: string): void {
    this.sent.delete(conv);
    this.seen.delete(conv);
  }
}
