/**
 * Sliding-window limits on failed attempts, kept inside a Durable Object's SQLite storage
 * (strongly consistent: one object per account or per IP sees every attempt).
 */
export interface WindowPolicy {
  /** Failures allowed inside the window; the next attempt is refused. */
  maxFailures: number;
  windowMs: number;
}

/** 5 wrong passwords per account per 15 minutes. */
export const ACCOUNT_LOGIN_POLICY: WindowPolicy = { maxFailures: 5, windowMs: 15 * 60_000 };
/** 20 failed logins per client IP per 15 minutes (any accounts). */
export const IP_LOGIN_POLICY: WindowPolicy = { maxFailures: 20, windowMs: 15 * 60_000 };

/**
 * 20 new accounts per client IP per hour: enough for an office behind one NAT, and it caps
 * how much PBKDF2 work (and how many throwaway accounts) one address can make us do.
 */
export const IP_REGISTER_POLICY: WindowPolicy = { maxFailures: 20, windowMs: 60 * 60_000 };

/** How long until another attempt is allowed, or 0 if it is allowed now. `failures` ascending. */
export function retryAfterMs(failures: readonly number[], policy: WindowPolicy, now: number): number {
  const recent = failures.filter((at) => at > now - policy.windowMs);
  if (recent.length < policy.maxFailures) return 0;
  // Allowed again once enough of the oldest failures have left the window.
  const freeing = recent[recent.length - policy.maxFailures]!;
  return Math.max(1, freeing + policy.windowMs - now);
}

/** A reserved attempt: `slot` names its row (null when refused: wait `retryAfterMs`). */
export interface Reservation {
  retryAfterMs: number;
  slot: number | null;
}

/** A failure log in a DO's SQLite storage. */
export class FailureLog {
  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (at INTEGER NOT NULL)`);
  }

  retryAfterMs(policy: WindowPolicy, now: number): number {
    this.sql.exec(`DELETE FROM ${this.table} WHERE at <= ?`, now - policy.windowMs);
    const failures = this.sql
      .exec<{ at: number }>(`SELECT at FROM ${this.table} ORDER BY at`)
      .toArray()
      .map((row) => row.at);
    return retryAfterMs(failures, policy, now);
  }

  /**
   * Check and count in one step: when the window has room, the attempt is written as a failure
   * before it is evaluated, so parallel attempts cannot all pass the check. The caller releases
   * the slot if the attempt turns out not to be a failure.
   */
  reserve(policy: WindowPolicy, now: number): Reservation {
    const wait = this.retryAfterMs(policy, now);
    if (wait > 0) return { retryAfterMs: wait, slot: null };
    const row = this.sql.exec<{ slot: number }>(`INSERT INTO ${this.table} (at) VALUES (?) RETURNING rowid AS slot`, now).one();
    return { retryAfterMs: 0, slot: row.slot };
  }

  release(slot: number): void {
    this.sql.exec(`DELETE FROM ${this.table} WHERE rowid = ?`, slot);
  }

  clear(): void {
    this.sql.exec(`DELETE FROM ${this.table}`);
  }
}
