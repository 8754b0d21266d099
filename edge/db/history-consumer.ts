import { historyDeadLetters } from '../../schema/db/index.js';
import { HISTORY_RECORDS_PER_MESSAGE, historyRecordSchema, type HistoryRecord } from '../../schema/wire/history.js';
import { describeError, log } from '../http/log.js';
import { withDb } from './client.js';
import { writeHistory } from './history-writer.js';

/** Queue names (wrangler.toml). */
export const HISTORY_QUEUE = 'edgemeet-history';
export const HISTORY_DLQ = 'edgemeet-history-dlq';

/** Retry delay after a failed write: 2, 4, 8 … 60 s — Postgres gets time to come back. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(60, 2 ** Math.min(Math.max(attempts, 1), 6));
}

/** What the DLQ receives for a record we could not parse. */
export interface DeadLetter {
  sourceQueue: string;
  messageId: string;
  reason: string;
  body: unknown;
}

/**
 * HISTORY consumer: parse every record; unparseable ones go to the dead-letter queue at once;
 * the rest are written together (writeHistory) and acked, or — on a Postgres/connection error —
 * retried with a delay, so an outage delays history but loses nothing. Writes are idempotent,
 * so the retry (or a duplicate delivery) never doubles a row. If Postgres rejects the data itself
 * (SQLSTATE class 22/23), the batch is written message by message, and a refused message record
 * by record, so only the offending records are dead-lettered: one bad record cannot hold anyone
 * else's history hostage, not even its neighbours in a message (the outbox packs up to
 * HISTORY_RECORDS_PER_MESSAGE of a room's records into one).
 */
export async function consumeHistory(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const outcome = new Outcome();
  const good = new Map<Message<unknown>, PlacedRecord[]>();
  const bad: BadRecord[] = [];
  for (const message of batch.messages) {
    // A message holds one record or an array of them (schema/wire/history.ts historyMessageSchema).
    const items = Array.isArray(message.body) && message.body.length <= HISTORY_RECORDS_PER_MESSAGE ? message.body : [message.body];
    items.forEach((item, index) => {
      const result = historyRecordSchema.safeParse(item);
      if (!result.success) bad.push({ message, index, body: item, reason: result.error.issues[0]?.message ?? 'invalid record' });
      else if (!Number.isFinite(new Date(result.data.at).getTime())) bad.push({ message, index, body: item, reason: 'at is not a valid time' });
      else good.set(message, [...(good.get(message) ?? []), { record: result.data, index }]);
    });
  }

  if (bad.length) {
    const sent = await deadLetter(env, batch.queue, bad);
    // A message is done only when all its parts are: a failed DLQ send retries it whole.
    for (const { message } of bad) if (!sent) outcome.retry(message);
  }
  const writable = [...good].filter(([message]) => !outcome.settled(message));
  if (!writable.length) return outcome.ackRest(batch);

  try {
    await withDb(env, async (db) => {
      try {
        await writeHistory(db, writable.flatMap(([, placed]) => placed.map(({ record }) => record)));
        for (const [message] of writable) outcome.ack(message);
      } catch (error) {
        if (!isDataError(error)) throw error;
        log('warn', 'history.isolating', { queue: batch.queue, messages: writable.length, error: describeError(error) });
        const poisoned: BadRecord[] = [];
        for (const [message, placed] of writable) {
          try {
            await writeHistory(db, placed.map(({ record }) => record));
            outcome.ack(message);
          } catch (refused) {
            if (!isDataError(refused)) throw refused;
            // Idempotent writes: a retry after a connection error mid-way doubles nothing.
            for (const { record, index } of placed) {
              try {
                await writeHistory(db, [record]);
              } catch (single) {
                if (!isDataError(single)) throw single;
                poisoned.push({ message, index, body: record, reason: describeError(single) });
              }
            }
          }
        }
        if (poisoned.length && !(await deadLetter(env, batch.queue, poisoned))) for (const { message } of poisoned) outcome.retry(message);
      }
    });
    log('info', 'history.written', { queue: batch.queue, messages: writable.length, records: writable.reduce((n, [, placed]) => n + placed.length, 0) });
    outcome.ackRest(batch);
  } catch (error) {
    for (const [message] of writable) outcome.retry(message);
    log('warn', 'history.retry', {
      queue: batch.queue,
      messages: writable.length,
      attempts: Math.max(...writable.map(([message]) => message.attempts)),
      error: describeError(error),
    });
    outcome.ackRest(batch);
  }
}

/** Settles each message once: ack or retry (with backoff). */
class Outcome {
  private readonly done = new Set<Message<unknown>>();
  settled(message: Message<unknown>): boolean {
    return this.done.has(message);
  }
  ack(message: Message<unknown>): void {
    if (this.done.has(message)) return;
    this.done.add(message);
    message.ack();
  }
  retry(message: Message<unknown>): void {
    if (this.done.has(message)) return;
    this.done.add(message);
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
  /** Everything not settled otherwise was fully handled (e.g. all parts dead-lettered). */
  ackRest(batch: MessageBatch<unknown>): void {
    for (const message of batch.messages) this.ack(message);
  }
}

/** Postgres refused the data itself (SQLSTATE class 22 data exception, 23 constraint violation). */
export function isDataError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A parsed record and its position in its queue message: the position names its dead letter. */
interface PlacedRecord {
  record: HistoryRecord;
  index: number;
}

interface BadRecord {
  message: Message<unknown>;
  /** Position in the message as sent: `${message.id}#${index}` must name one record only (the DLQ table's key). */
  index: number;
  body: unknown;
  reason: string;
}

/** Sends unparseable records to the DLQ; false if that failed (they are then retried, and the
 * queue dead-letters them itself after max_retries). */
async function deadLetter(env: Env, queue: string, bad: BadRecord[]): Promise<boolean> {
  try {
    await env.HISTORY_DLQ.sendBatch(
      bad.map(({ message, index, body, reason }) => ({
        body: { sourceQueue: queue, messageId: `${message.id}#${index}`, reason, body } satisfies DeadLetter,
      })),
    );
    log('warn', 'history.dead_lettered', { queue, records: bad.length });
    return true;
  } catch (error) {
    log('error', 'history.dead_letter_failed', { queue, records: bad.length, error: describeError(error) });
    return false;
  }
}

/**
 * DLQ consumer: keeps every dead letter in Postgres (history_dead_letters) for inspection and
 * replay. Both our explicit dead letters and records that exhausted their retries arrive here.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const rows = batch.messages.map((message) => ({ messageId: deadLetterId(message), queue: batch.queue, body: safeStringify(message.body) }));
  try {
    await withDb(env, (db) => db.insert(historyDeadLetters).values(rows).onConflictDoNothing());
    batch.ackAll();
  } catch (error) {
    batch.retryAll({ delaySeconds: retryDelaySeconds(Math.max(...batch.messages.map((message) => message.attempts))) });
    log('warn', 'history.dlq_retry', { records: rows.length, error: describeError(error) });
  }
}

/** Our explicit dead letters carry the source message id (stable across redelivery). */
function deadLetterId(message: Message<unknown>): string {
  const body = message.body as Partial<DeadLetter> | null;
  return typeof body === 'object' && body && typeof body.messageId === 'string' ? body.messageId.slice(0, 128) : message.id;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}
