import { historyDeadLetters } from '../../schema/db/index.js';
import { HISTORY_RECORDS_PER_MESSAGE, historyRecordSchema, type HistoryRecord } from '../../schema/wire/history.js';
import type { Env } from '../env.js';
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
 * the rest are written together (writeHistory) and acked, or — on any Postgres error — retried
 * with a delay, so an outage delays history but loses nothing. Writes are idempotent, so the
 * retry (or a duplicate delivery) never doubles a row.
 */
export async function consumeHistory(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const records: HistoryRecord[] = [];
  const writing = new Set<Message<unknown>>();
  const bad: BadRecord[] = [];
  for (const message of batch.messages) {
    // A message holds one record or an array of them (schema/wire/history.ts historyMessageSchema).
    const items = Array.isArray(message.body) && message.body.length <= HISTORY_RECORDS_PER_MESSAGE ? message.body : [message.body];
    items.forEach((item, index) => {
      const result = historyRecordSchema.safeParse(item);
      if (result.success) {
        records.push(result.data);
        writing.add(message);
      } else {
        bad.push({ message, index, body: item, reason: result.error.issues[0]?.message ?? 'invalid record' });
      }
    });
  }

  const deadLettered = bad.length ? await deadLetter(env, batch.queue, bad) : true;
  for (const { message } of bad) {
    if (!deadLettered) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    else if (!writing.has(message)) message.ack();
  }
  if (!records.length) return;

  try {
    await withDb(env, (db) => writeHistory(db, records));
    for (const message of writing) if (deadLettered || !bad.some((entry) => entry.message === message)) message.ack();
    log('info', 'history.written', { queue: batch.queue, messages: writing.size, records: records.length });
  } catch (error) {
    for (const message of writing) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log('warn', 'history.retry', {
      queue: batch.queue,
      records: records.length,
      attempts: Math.max(...[...writing].map((message) => message.attempts)),
      error: describeError(error),
    });
  }
}

interface BadRecord {
  message: Message<unknown>;
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
