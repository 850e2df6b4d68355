/**
 * The web config's rate_limit: one token bucket for the whole server, as the exporter
 * toolkit builds with Go's rate.NewLimiter(rate.Every(interval), burst). A token comes
 * back every `interval`, at most `burst` are kept; a request without a token gets 429.
 */
import { performance } from 'node:perf_hooks';

export interface RateLimit {
  /** Time for one token to come back, in milliseconds; > 0. */
  intervalMs: number;
  /** Tokens the bucket holds when full (requests that may come at once); >= 1. */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Starts full, as Go's limiter does.
    this.tokens = limit.burst;
    this.last = now();
  }

  /** Takes a token if there is one. */
  allow(): boolean {
    const now = this.now();
    // A clock that went back refills nothing (performance.now never does; an injected one might).
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed / this.limit.intervalMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Whether two limits are the same: an unchanged one keeps its bucket across a reload. */
export function sameRateLimit(a: RateLimit | undefined, b: RateLimit | undefined): boolean {
  return a?.intervalMs === b?.intervalMs && a?.burst === b?.burst;
}
