// What start-up has opened so far, released in reverse order: on a failure anywhere in
// start-up (so nothing opened before it outlives it), and as the last step of shutdown.
import { errInfo, type Logger } from './log.js';

export class Closers {
  private readonly stack: { what: string; close: () => unknown }[] = [];

  // Registered right after the thing is opened; `what` names it in the log if closing fails.
  add(what: string, close: () => unknown): void {
    this.stack.push({ what, close });
  }

  // Each closer runs once, newest first; one failing does not keep the others from running.
  async closeAll(log: Logger): Promise<void> {
    for (let c = this.stack.pop(); c !== undefined; c = this.stack.pop()) {
      try {
        await c.close();
      } catch (err) {
        log.warn({ what: c.what, ...errInfo(err) }, 'releasing a resource failed');
      }
    }
  }
}
