import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.js';
import { FailureLog, type WindowPolicy } from './rate-limit.js';

/**
 * A failure window for one key that is not an account — a client IP for logins
 * (idFromName(`login-ip:<ip>`)). One object per key keeps the count exact under concurrency.
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
}
