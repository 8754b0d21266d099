import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.js';
import { FailureLog, type WindowPolicy } from './rate-limit.js';

/**
 * A window of attempts for one key that is not an account — a client IP for failed logins
 * (idFromName(`login-ip:<ip>`)) or for registrations (`register-ip:<ip>`). One object per key
 * keeps the count exact under concurrency.
 */
export class RateLimiterDO extends DurableObject<Env> {
  private readonly failures: FailureLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.failures = new FailureLog(ctx.storage.sql, 'failures');
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
