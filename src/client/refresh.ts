// Keeps a ready socket's token fresh: shortly before it expires, ask the app for a newer
// one and hand it over for a reauth frame; retry every few seconds while it has none.
import { tokenExpiry } from './ids.js';
import type { TokenSource } from './types.js';

export interface RefreshOptions {
  getToken: TokenSource;
  // ask this long before expiry, but never before half of the token's life
  refreshBeforeMs: number;
  onFresh(token: string): void;
  onError(err: Error): void;
}

export class TokenRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private run = 0; // bumped by stop(): a getToken() still pending then is ignored

  constructor(private readonly o: RefreshOptions) {}

  start(token: string): void {
    this.stop();
    this.schedule(token, this.run);
  }

  stop(): void {
    this.run++;
    clearTimeout(this.timer);
  }

  private schedule(token: string, run: number): void {
    const exp = tokenExpiry(token);
    if (exp === undefined) return; // opaque token: the server decides, nothing to plan
    const left = exp - Date.now();
    const lead = Math.min(this.o.refreshBeforeMs, left / 2);
    this.timer = setTimeout(() => void this.refresh(exp, run), Math.max(0, left - lead));
  }

  private async refresh(oldExp: number, run: number): Promise<void> {
    let token = '';
    try {
      token = await this.o.getToken('refresh');
    } catch (err) {
      this.o.onError(err as Error);
    }
    if (run !== this.run) return;
    const exp = tokenExpiry(token);
    if (exp === undefined || exp <= oldExp) {
      const left = oldExp - Date.now();
      if (left > 0) this.timer = setTimeout(() => void this.refresh(oldExp, run), Math.min(5000, left / 2));
      return;
    }
    this.o.onFresh(token);
    this.schedule(token, run);
  }
}
