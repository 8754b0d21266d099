import { RetryLaterError } from '../http/errors.js';

/** Storage of recent attempts (wrong passcodes, knocks) per key, for the sliding windows below. */
export const ATTEMPTS_TABLE = 'attempts';

/** At most `max` attempts inside any `windowMs`. */
export interface WindowPolicy {
  max: number;
  windowMs: number;
}

/** Wrong passcodes from one network (or one account) into one meeting. */
export const PASSCODE_PER_SOURCE: WindowPolicy = { max: 5, windowMs: 5 * 60_000 };
/**
 * Wrong passcodes into one meeting from anywhere: bounds guessing spread over many addresses
 * (at most ~7,200 guesses a day against ≥ 10^6 six-character passcodes).
 */
export const PASSCODE_PER_MEETING: WindowPolicy = { max: 50, windowMs: 10 * 60_000 };
/** Knocks on the waiting room from one network per minute (a class behind one NAT still fits). */
export const KNOCKS_PER_SOURCE: WindowPolicy = { max: 20, windowMs: 60_000 };

const LONGEST_WINDOW_MS = Math.max(PASSCODE_PER_SOURCE.windowMs, PASSCODE_PER_MEETING.windowMs, KNOCKS_PER_SOURCE.windowMs);

export interface AttemptCheck {
  key: string;
  policy: WindowPolicy;
}

/** The rows an allowed attempt wrote; release() them when the attempt turns out not to count. */
export type Reservation = number[];

/**
 * Sliding-window attempt limits in the RoomDO's storage. reserve() checks and counts in one
 * synchronous step (nothing awaits in between), so parallel attempts cannot all pass the check.
 */
export class AttemptLimits {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${ATTEMPTS_TABLE} (key TEXT NOT NULL, at INTEGER NOT NULL)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS attempts_by_key ON ${ATTEMPTS_TABLE} (key, at)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS attempts_by_time ON ${ATTEMPTS_TABLE} (at)`);
  }

  /**
   * Counts an attempt against every check, or throws RATE_LIMITED (with the wait) when any of
   * them is spent; `what` names the attempt for the message ("wrong passcodes").
   */
  reserve(checks: readonly AttemptCheck[], now: number, what: string): Reservation {
    this.sql.exec(`DELETE FROM ${ATTEMPTS_TABLE} WHERE at <= ?`, now - LONGEST_WINDOW_MS);
    let waitMs = 0;
    for (const { key, policy } of checks) waitMs = Math.max(waitMs, this.waitFor(key, policy, now));
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new RetryLaterError(`too many ${what}; try again in ${seconds} s`, seconds);
    }
    return checks.map(({ key }) => this.sql.exec<{ id: number }>(`INSERT INTO ${ATTEMPTS_TABLE} (key, at) VALUES (?, ?) RETURNING rowid AS id`, key, now).one().id);
  }

  release(reservation: Reservation): void {
    for (const id of reservation) this.sql.exec(`DELETE FROM ${ATTEMPTS_TABLE} WHERE rowid = ?`, id);
  }

  private waitFor(key: string, policy: WindowPolicy, now: number): number {
    const recent = this.sql
      .exec<{ at: number }>(`SELECT at FROM ${ATTEMPTS_TABLE} WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?`, key, now - policy.windowMs, policy.max)
      .toArray();
    if (recent.length < policy.max) return 0;
    // Free again once the oldest of the last `max` attempts leaves the window.
    return Math.max(1, recent[recent.length - 1]!.at + policy.windowMs - now);
  }
}
