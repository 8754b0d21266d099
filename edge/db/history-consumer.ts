import { historyDeadLetters } from '../../schema/db/index.js';
import { historyRecordSchema, type HistoryRecord } from '../../schema/wire/history.js';
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
  const parsed: { message: Message<unknown>; record: HistoryRecord }[] = [];
  const bad: { message: Message<unknown>; reason: string }[] = [];
  for (const message of batch.messages) {
    const result = historyRecordSchema.safeParse(message.body);
    if (result.success) parsed.push({ message, record: result.data });
    else bad.push({ message, reason: result.error.issues[0]?.message ?? 'invalid record' });
  }

  if (bad.length) await deadLetter(env, batch.queue, bad);
  if (!parsed.length) return;

  try {
    await withDb(env, (db) => writeHistory(db, parsed.map((entry) => entry.record)));
    for (const { message } of parsed) message.ack();
    log('info', 'history.written', { queue: batch.queue, records: parsed.length });
  } catch (error) {
    const attempts = Math.max(...parsed.map((entry) => entry.message.attempts));
    for (const { message } of parsed) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log('warn', 'history.retry', { queue: batch.queue, records: parsed.length, attempts, error: describeError(error) });
  }
}

async function deadLetter(env: Env, queue: string, bad: { message: Message<unknown>; reason: string }[]): Promise<void> {
  try {
    await env.HISTORY_DLQ.sendBatch(
      bad.map(({ message, reason }) => ({ body: { sourceQueue: queue, messageId: message.id, reason, body: message.body } satisfies DeadLetter })),
    );
    for (const { message } of bad) message.ack();
    log('warn', 'history.dead_lettered', { queue, records: bad.length });
  } catch (error) {
    // Not acked: the queue retries them and, after max_retries, dead-letters them itself.
    for (const { message } of bad) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log('error', 'history.dead_letter_failed', { queue, records: bad.length, error: describeError(error) });
  }
}

/**
 * DLQ consumer: keeps every dead letter in Postgres (history_dead_letters) for inspection and
 * replay. Both our explicit dead letters and records that exhausted their retries arrive here.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const rows = batch.messages.map((message) => ({ messageId: message.id, queue: batch.queue, body: safeStringify(message.body) }));
  try {
    await withDb(env, (db) => db.insert(historyDeadLetters).values(rows).onConflictDoNothing());
    batch.ackAll();
  } catch (error) {
    batch.retryAll({ delaySeconds: retryDelaySeconds(Math.max(...batch.messages.map((message) => message.attempts))) });
    log('warn', 'history.dlq_retry', { records: rows.length, error: describeError(error) });
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}
