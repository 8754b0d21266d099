import { DurableObject } from 'cloudflare:workers';
import { FailureLog, type Reservation, type WindowPolicy } from './rate-limit.js';

/** SQLite table of the failure window (one table per object). */
const FAILURES_TABLE = 'failures';

/**
 * A window of attempts for one key that is not an account — a client IP for failed logins
 * (`login-ip:<ip>`) or for registrations (`register-ip:<ip>`), or an email without an account
 * (`login-email:<email>`, limited as an account is); see limiterStub in
 * edge/durable-objects.ts. One object per key keeps the count exact under concurrency.
 */
export class RateLimiterDO extends DurableObject<Env> {
  private readonly failures: FailureLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.failures = new FailureLog(ctx.storage.sql, FAILURES_TABLE);
  }

  /**
   * Checks the window and counts this attempt as a failure in one call, so parallel attempts
   * cannot all pass the check; `release(slot)` uncounts an attempt that did not fail.
   */
  async reserve(policy: WindowPolicy): Promise<Reservation> {
    return this.failures.reserve(policy, Date.now());
  }

  async release(slot: number): Promise<void> {
    this.failures.release(slot);
  }

  /** An attempt that counts whatever its outcome (registrations): 0, or ms until allowed. */
  async takeAttempt(policy: WindowPolicy): Promise<number> {
    return this.failures.reserve(policy, Date.now()).retryAfterMs;
  }
}
