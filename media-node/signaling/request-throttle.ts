export interface ThrottleLimits {
  /** Requests a participant may send at once. */
  burst: number;
  /** Requests per second the bucket refills with. */
  perSecond: number;
}

/** A token bucket of signaling requests: `burst` at once, then `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limits.burst;
    this.refilledAt = now();
  }

  /** Spends one request; false when the participant has to slow down. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** A full bucket is the same as a fresh one, so it can be forgotten. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.limits.burst;
  }

  private refill(): void {
    const at = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((at - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = at;
  }
}

/**
 * The buckets of every participant on this node, by meeting and participant id, so that
 * reconnecting does not refill one. Full buckets are forgotten now and then.
 */
export class RequestThrottle {
  private readonly buckets = new Map<string, TokenBucket>();
  private prunedAt: number;

  constructor(
    readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
    private readonly pruneEveryMs = 60_000,
  ) {
    this.prunedAt = now();
  }

  bucketFor(meetingId: string, participantId: string): TokenBucket {
    this.prune();
    const key = `${meetingId}/${participantId}`;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.limits, this.now)));
    return bucket;
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(): void {
    if (this.now() - this.prunedAt < this.pruneEveryMs) return;
    this.prunedAt = this.now();
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key);
  }
}
