import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { count, eq, inArray } from 'drizzle-orm';
import { analyticsEvents, messages, participants, recordings } from '../../schema/db/index.js';
import type { HistoryRecord } from '../../schema/wire/history.js';
import worker from '../worker.js';
import { db } from './helpers.js';

const linkIdOf = () => crypto.randomUUID().replace(/-/g, '').slice(0, 22);

/** A plausible stretch of one meeting's history: joins, chat, analytics, a leave, a recording. */
export function meetingHistory(meetingId = crypto.randomUUID(), people = 3, chat = 5): HistoryRecord[] {
  const base = { meetingId, meetingLinkId: linkIdOf() };
  let at = Date.parse('2026-11-25T10:00:00Z');
  const records: HistoryRecord[] = [];
  const key = () => crypto.randomUUID();
  for (let i = 0; i < people; i++) {
    const participantId = `p${i}-${crypto.randomUUID().slice(0, 8)}`;
    records.push({ kind: 'participantJoined', key: key(), ...base, at: at++, participantId, userId: null, displayName: `Person ${i}`, role: i === 0 ? 'host' : 'guest' });
    records.push({ kind: 'analytics', key: key(), ...base, at: at++, event: 'join', participantId, props: { region: 'lon', n: i } });
    for (let j = 0; j < chat; j++) {
      records.push({ kind: 'message', key: key(), ...base, at: at++, messageId: crypto.randomUUID(), participantId, userId: null, displayName: `Person ${i}`, text: `hello ${j}` });
    }
    if (i > 0) records.push({ kind: 'participantLeft', key: key(), ...base, at: at++, participantId, reason: 'left' });
  }
  const recordingId = crypto.randomUUID();
  const file = { key: `recordings/${recordingId}/composite.webm`, kind: 'composite' as const, contentType: 'video/webm', bytes: 1234, sha256: 'a'.repeat(64) };
  records.push({ kind: 'recording', key: key(), ...base, at: at++, recordingId, status: 'recording', durationMs: null, files: [], error: null });
  records.push({ kind: 'recording', key: key(), ...base, at: at++, recordingId, status: 'ready', durationMs: 60_000, files: [file], error: null });
  return records;
}

/** Expected row counts for meetingHistory(meetingId, people, chat). */
export const expectedRows = (people: number, chat: number) => ({ participants: people, messages: people * chat, analytics: people, recordings: 1 });

let sequence = 0;
export type Delivery = { id: string; body: unknown; attempts?: number };

/** Deliver messages to the Worker's queue handler exactly as the queue would, and report the outcome. */
export async function deliver(deliveries: Delivery[], workerEnv: typeof env = env, queue = 'edgemeet-history') {
  const batch = createMessageBatch(
    queue,
    deliveries.map(({ id, body, attempts }) => ({ id, body, attempts: attempts ?? 1, timestamp: new Date() })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv, ctx);
  return getQueueResult(batch, ctx);
}

export const asDeliveries = (records: unknown[], attempts = 1): Delivery[] => records.map((body) => ({ id: `msg-${++sequence}-${crypto.randomUUID()}`, body, attempts }));

/** Rows per table for a set of meetings. */
export async function countRows(meetingIds: string[], databaseUrl?: string) {
  return db(async (d) => {
    const [p] = await d.select({ n: count() }).from(participants).where(inArray(participants.meetingId, meetingIds));
    const [m] = await d.select({ n: count() }).from(messages).where(inArray(messages.meetingId, meetingIds));
    const [a] = await d.select({ n: count() }).from(analyticsEvents).where(inArray(analyticsEvents.meetingId, meetingIds));
    const [r] = await d.select({ n: count() }).from(recordings).where(inArray(recordings.meetingId, meetingIds));
    return { participants: p!.n, messages: m!.n, analytics: a!.n, recordings: r!.n };
  }, databaseUrl);
}

export async function participantRows(meetingId: string) {
  return db((d) => d.select().from(participants).where(eq(participants.meetingId, meetingId)));
}
