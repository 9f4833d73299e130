// Token bucket: `rate` tokens per second up to `burst`. take() says whether an action may
// go ahead; debt counts refusals since the bucket last had tokens, so callers can warn
// first and disconnect only a client that keeps pushing.
export class TokenBucket {
  private tokens: number;
  private last: number;
  debt = 0;

  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = burst;
    this.last = now();
  }

  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens >= n) {
      this.tokens -= n;
      this.debt = 0;
      return true;
    }
    this.debt++;
    return false;
  }
}
