// The subscriber side every cross-replica bus shares: handlers of events and of resyncs,
// each called so that one that throws neither stops the others nor reaches the bus's link.
import type { Logger } from '../log.js';
import { errInfo } from '../log.js';
import type { BusEvent } from './bus.js';

export class BusSubscribers {
  private readonly events: ((ev: BusEvent, local: boolean) => void)[] = [];
  private readonly resyncs: ((convs?: readonly string[]) => void)[] = [];
  private readonly restores: (() => void)[] = [];

  constructor(private readonly log: Logger) {}

  subscribe(h: (ev: BusEvent, local: boolean) => void): void {
    this.events.push(h);
  }

  onResync(h: (convs?: readonly string[]) => void): void {
    this.resyncs.push(h);
  }

  onLinkRestored(h: () => void): void {
    this.restores.push(h);
  }

  linkRestored(): void {
    for (const h of this.restores) this.safely('link restored', h);
  }

  emit(ev: BusEvent, local: boolean): void {
    for (const h of this.events) this.safely('event', () => h(ev, local));
  }

  // `convs` undefined: every conversation.
  resync(convs?: readonly string[]): void {
    for (const h of this.resyncs) this.safely('resync', () => h(convs));
  }

  safely(what: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.error({ what, ...errInfo(err) }, 'bus handler failed');
    }
  }
}
