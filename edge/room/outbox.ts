import { HISTORY_RECORDS_PER_MESSAGE, type HistoryMessage, type HistoryRecord } from '../../schema/wire/history.js';
import { describeError, log } from '../http/log.js';

/**
 * Queues take ≤ 100 messages and ≤ 256 KB per sendBatch, ≤ 128 KB per message. Records are packed
 * into array messages (the consumer accepts both) under these byte budgets.
 */
const ROWS_PER_FLUSH = 500;
const MESSAGE_BYTES = 64 * 1024;
const BATCH_BYTES = 200 * 1024;

/** Storage of history not yet handed to the queue. */
export const OUTBOX_TABLE = 'outbox';

/** Omit over each member of a union (plain Omit would merge the history kinds). */
export type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** A history record before the outbox gives it its idempotency key. */
export type PendingRecord = DistributiveOmit<HistoryRecord, 'key'>;

/**
 * History leaves the RoomDO through this table: rows are written in the same storage transaction
 * as the state change they describe, sent to the HISTORY queue in batches, and deleted only after
 * sendBatch resolved. A failed send leaves them for the next attempt (alarm); the key, fixed at
 * write time, lets the consumer drop a record delivered twice.
 */
export class Outbox {
  private flushing: Promise<boolean> | null = null;
  /**
   * What this instance knows of the table without counting it: 'empty' once a drain emptied it
   * with nothing added since, 'some' after an add (a rolled-back add only costs a needless
   * flush), 'unknown' after a start or a failed send.
   */
  private known: 'empty' | 'some' | 'unknown' = 'unknown';
  /** Adds so far: a drain reads again only when some came in while it sent. */
  private added = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** The queue (a field, so tests can put a failing queue in front of the real one). */
    public queue: Queue<HistoryMessage>,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL)`);
  }

  add(record: PendingRecord): void {
    const full = { ...record, key: crypto.randomUUID() } as HistoryRecord;
    this.sql.exec(`INSERT INTO ${OUTBOX_TABLE} (record) VALUES (?)`, JSON.stringify(full));
    this.added += 1;
    this.known = 'some';
  }

  pending(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${OUTBOX_TABLE}`).one().n;
  }

  /** Whether anything waits to be sent; counts the table only when this instance cannot tell. */
  hasPending(): boolean {
    if (this.known === 'unknown') this.known = this.pending() > 0 ? 'some' : 'empty';
    return this.known === 'some';
  }

  /** Sends everything pending; true when the outbox is empty afterwards. One flush at a time. */
  flush(): Promise<boolean> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<boolean> {
    for (;;) {
      const addedBefore = this.added;
      const rows = this.sql.exec<{ seq: number; record: string }>(`SELECT seq, record FROM ${OUTBOX_TABLE} ORDER BY seq LIMIT ?`, ROWS_PER_FLUSH).toArray();
      if (rows.length === 0) return this.emptied(addedBefore);
      const { messages, lastSeq } = pack(rows);
      try {
        await this.queue.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
      } catch (error) {
        this.known = 'unknown';
        log('warn', 'outbox.send_failed', { pending: this.pending(), error: describeError(error) });
        return false;
      }
      this.sql.exec(`DELETE FROM ${OUTBOX_TABLE} WHERE seq <= ?`, lastSeq);
      // Everything read went out and nothing came in meanwhile: no need to read again.
      if (lastSeq === rows.at(-1)!.seq && rows.length < ROWS_PER_FLUSH && this.added === addedBefore) return this.emptied(addedBefore);
    }
  }

  private emptied(addedBefore: number): true {
    if (this.added === addedBefore) this.known = 'empty';
    return true;
  }
}

/** Packs rows (in order) into array messages within the byte budgets; answers the last row taken. */
function pack(rows: { seq: number; record: string }[]): { messages: HistoryRecord[][]; lastSeq: number } {
  const messages: HistoryRecord[][] = [];
  let current: HistoryRecord[] = [];
  let currentBytes = 0;
  let batchBytes = 0;
  let lastSeq = rows[0]!.seq;
  for (const row of rows) {
    const bytes = row.record.length * 3 + 1; // worst case UTF-8 of a JS string
    if (current.length > 0 && (current.length >= HISTORY_RECORDS_PER_MESSAGE || currentBytes + bytes > MESSAGE_BYTES)) {
      messages.push(current);
      current = [];
      currentBytes = 0;
      if (messages.length >= 100) break;
    }
    if (batchBytes + bytes > BATCH_BYTES && (messages.length > 0 || current.length > 0)) break;
    current.push(JSON.parse(row.record) as HistoryRecord);
    currentBytes += bytes;
    batchBytes += bytes;
    lastSeq = row.seq;
  }
  if (current.length > 0) messages.push(current);
  return { messages, lastSeq };
}
