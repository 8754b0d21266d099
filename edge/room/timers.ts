/** Storage of the deadlines; each name is a constant next to the code that owns it. */
export const TIMERS_TABLE = 'timers';

/** A deadline's name: OUTBOX_TIMER (room.ts), RELEASE_TIMER (media.ts), PRESENCE_TIMER (presence.ts). */
export type TimerName = string;

/**
 * Several deadlines on one Durable Object alarm: each named deadline is a row; the alarm is set to
 * the earliest, and the alarm handler asks which ones are due.
 */
export class Timers {
  /** The alarm time this instance last set (undefined: not known yet, ask storage). */
  private armedAt: number | null | undefined;
  /**
   * The table as last read (null: read it again). Joins ask which deadlines are pending several
   * times each; every write here keeps it in step, and the alarm (takeDue) and forget() — a
   * rolled-back transaction, or the table changed behind this class — make it read again.
   */
  private deadlines: Map<TimerName, number> | null = null;

  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS ${TIMERS_TABLE} (name TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
  }

  private pending(): Map<TimerName, number> {
    this.deadlines ??= new Map(this.storage.sql.exec<{ name: TimerName; at: number }>(`SELECT name, at FROM ${TIMERS_TABLE}`).toArray().map((row) => [row.name, row.at]));
    return this.deadlines;
  }

  /** Sets a deadline; with `keepEarlier`, an existing earlier one stays. */
  async set(name: TimerName, at: number, keepEarlier = false): Promise<void> {
    const deadlines = this.pending();
    const current = deadlines.get(name);
    const next = keepEarlier && current !== undefined ? Math.min(current, at) : at;
    if (current !== next) {
      this.storage.sql.exec(`INSERT INTO ${TIMERS_TABLE} (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at`, name, next);
      deadlines.set(name, next);
    }
    await this.arm();
  }

  async clear(name: TimerName): Promise<void> {
    const deadlines = this.pending();
    if (deadlines.delete(name)) this.storage.sql.exec(`DELETE FROM ${TIMERS_TABLE} WHERE name = ?`, name);
    await this.arm();
  }

  /** Sets a deadline only when none is pending (a pending one fires sooner or at worst re-checks). */
  async setIfUnset(name: TimerName, at: number): Promise<void> {
    if (!this.has(name)) await this.set(name, at);
  }

  async clearIfSet(name: TimerName): Promise<void> {
    if (this.has(name)) await this.clear(name);
  }

  has(name: TimerName): boolean {
    return this.pending().has(name);
  }

  /** Removes and answers the deadlines that are due. */
  takeDue(now: number): TimerName[] {
    this.deadlines = null;
    return this.storage.sql
      .exec<{ name: TimerName }>(`DELETE FROM ${TIMERS_TABLE} WHERE at <= ? RETURNING name`, now)
      .toArray()
      .map((row) => row.name);
  }

  /** Points the storage alarm at the earliest deadline; skips the write when it already is. */
  async arm(): Promise<void> {
    let next: number | null = null;
    for (const at of this.pending().values()) if (next === null || at < next) next = at;
    if (this.armedAt === undefined) this.armedAt = await this.storage.getAlarm();
    if (next === this.armedAt) return;
    if (next === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(next);
    this.armedAt = next;
  }

  /** The alarm is firing: the runtime clears it, so the next arm() must set it again. */
  alarmFired(): void {
    this.armedAt = null;
  }

  /** Reads the table again next time (a transaction that wrote it rolled back). */
  forget(): void {
    this.deadlines = null;
  }
}
