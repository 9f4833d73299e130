// The connection state in words: live, connecting, a countdown to the next reconnect
// attempt (with a button to retry at once), or why the client stopped.
import { describeClose, type ConnectionState } from '../client/index.js';

export class ConnectionView {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly pill: HTMLElement, private readonly detail: HTMLElement, private readonly retryNow: () => void) {}

  show(s: ConnectionState): void {
    clearInterval(this.timer);
    this.pill.dataset.state = s.status;
    this.detail.replaceChildren();
    this.detail.hidden = true;
    switch (s.status) {
      case 'idle':
      case 'connecting':
        this.pill.textContent = s.status === 'connecting' && s.attempt > 0 ? `Reconnecting (attempt ${s.attempt})…` : 'Connecting…';
        if (s.status === 'connecting' && s.attempt > 0) this.pill.dataset.state = 'reconnecting';
        return;
      case 'ready':
        this.pill.textContent = 'Live';
        return;
      case 'reconnecting': {
        const tick = () => {
          const left = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
          this.pill.textContent = left > 0 ? `Reconnecting in ${left} s` : 'Reconnecting…';
        };
        tick();
        this.timer = setInterval(tick, 250);
        const why = describeClose(s.lastClose);
        this.say(`${why.charAt(0).toUpperCase()}${why.slice(1)}. Reconnecting automatically; messages you send meanwhile are kept and sent then.`, 'Retry now', this.retryNow);
        return;
      }
      case 'closed':
        this.pill.textContent = 'Offline';
        if (s.reason !== 'closed_by_client') this.say(`Disconnected: ${s.message}.`, 'Reconnect', () => location.reload());
        return;
    }
  }

  private say(text: string, action: string, fn: () => void): void {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = action;
    b.addEventListener('click', fn);
    this.detail.append(text, ' ', b);
    this.detail.hidden = false;
  }
}
