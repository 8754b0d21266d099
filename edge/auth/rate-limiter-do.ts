import { DurableObject } from 'cloudflare:workers';
import { FailureLog, type WindowPolicy } from './rate-limit.js';

/** SQLite table of the failure window (one table per object). */
const FAILURES_TABLE = 'failures';

/**
 * A window of attempts for one key that is not an account — a client IP for failed logins
 * (`login-ip:<ip>`) or for registrations (`register-ip:<ip>`); see limiterStub in
 * edge/durable-objects.ts. One object per key keeps the count exact under concurrency.
 */
export class RateLimiterDO extends DurableObject<Env> {
  private readonly failures: FailureLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.failures = new FailureLog(ctx.storage.sql, FAILURES_TABLE);
  }

  async retryAfterMs(policy: WindowPolicy): Promise<number> {
    return this.failures.retryAfterMs(policy, Date.now());
  }

  async recordFailure(): Promise<void> {
    this.failures.record(Date.now());
  }

  /** Checks the window and counts this attempt in one call (no gap for concurrent attempts). */
  async takeAttempt(policy: WindowPolicy): Promise<number> {
    const now = Date.now();
    const wait = this.failures.retryAfterMs(policy, now);
    if (wait === 0) this.failures.record(now);
    return wait;
  }
}
