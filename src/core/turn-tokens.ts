// Per-token frames (response.delta, agent.thinking) a run produces within one turn of the
// event loop leave as one frame, at the end of that turn. When the model's chunks arrive
// one per turn nothing changes; when the server falls behind, a turn holds several tokens
// of every run and each leaves with one encoding, one bus entry and one send per socket
// instead of one per token, so the cost per token falls as the load rises.
//
// Order: any other frame of a run is published after the run's pending tokens
// (flush() first). Bound: at most one pending frame per running answer.
import { appendText, followsOn } from './bus-outbox.js';
import type { BusEvent } from './bus.js';

type TokenEvent = Extract<BusEvent, { kind: 'frame' }>;

// Appends b's text to a pending frame in place: it is ours until the turn ends (copying
// it per token was a few per cent of the server's CPU under load).
function append(a: TokenEvent['frame'], b: TokenEvent['frame']): boolean {
  if (!followsOn(a, b)) return false;
  appendText(a, b);
  return true;
}

export class TurnTokens {
  private readonly pending = new Map<string, TokenEvent>();
  private scheduled = false;

  constructor(
    private readonly send: (ev: TokenEvent) => void,
    private readonly defer: (f: () => void) => void = setImmediate,
  ) {}

  // `run` keys the merge: frames of one run join when they follow on (same step, next offset).
  add(run: string, ev: TokenEvent): void {
    const prev = this.pending.get(run);
    if (prev) {
      if (!prev.only && !ev.only && append(prev.frame, ev.frame)) return;
      this.send(prev);
    }
    this.pending.set(run, ev);
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const evs = [...this.pending.values()];
    this.pending.clear();
    for (const ev of evs) this.send(ev);
  }
}
