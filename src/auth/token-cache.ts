// Bounded LRU of verified tokens, keyed by a hash of the token so the cache never
// holds a bearer credential. Entries die at the token's exp: a cached verdict can never
// outlive the token itself. Map iteration order gives LRU for free.
import { createHash } from 'node:crypto';

export interface VerifiedToken {
  sub: string;
  exp: number; // seconds since epoch
  claims: Record<string, unknown>;
}

export class TokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(
    private readonly max: number,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(token: string): VerifiedToken | undefined {
    if (this.max === 0) return undefined;
    const k = TokenCache.key(token);
    const hit = this.entries.get(k);
    if (hit === undefined) return undefined;
    this.entries.delete(k);
    if (hit.exp <= this.now()) return undefined;
    this.entries.set(k, hit);
    return hit;
  }

  set(token: string, v: VerifiedToken): void {
    if (this.max === 0) return;
    const k = TokenCache.key(token);
    this.entries.delete(k);
    this.entries.set(k, v);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
