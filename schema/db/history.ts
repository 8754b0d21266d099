import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import type { RecordingFile } from '../wire/node-control.js';
import { tstz } from './columns.js';

/*
 * Rows written by the HISTORY queue consumer. They carry no foreign keys on purpose: a batch is
 * written across many rooms in one statement, and one bad reference must not poison (and endlessly
 * retry) everyone else's rows. Every table has a natural or explicit idempotency key so a
 * redelivered record never creates a second row.
 *
 * The two largest tables, messages and analytics_events, are partitioned by day on their time
 * column (migration 0001: PARTITION BY RANGE, a partition per UTC day plus a default one), so
 * retention drops a day instead of deleting rows: `select history_maintain(retain_days, ahead_days)`
 * creates the coming days' partitions and drops the expired ones (docs/capacity.md). Postgres
 * requires the partition key in every unique constraint, hence (id, time) keys and (key, time)
 * idempotency keys: a redelivered record carries the same key and time, so it still conflicts.
 * drizzle-kit does not model partitioning; the migration's SQL does.
 */

/**
 * PARTICIPANTS: one row per (meeting, participant); join and leave records merge into it in any
 * order. Not partitioned yet: the writer's upsert needs a unique key without a time column, and a
 * leave record does not carry the join time (docs/capacity.md says what would change). Retention
 * deletes by the seen-at index in batches (history_maintain).
 */
export const participants = pgTable(
  'participants',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    meetingId: uuid('meeting_id').notNull(),
    participantId: varchar('participant_id', { length: 64 }).notNull(),
    userId: uuid('user_id'),
    displayName: varchar('display_name', { length: 20 }),
    role: text('role', { enum: ['host', 'cohost', 'participant', 'guest', 'attendee'] }),
    joinedAt: tstz('joined_at'),
    leftAt: tstz('left_at'),
    leaveReason: varchar('leave_reason', { length: 64 }),
  },
  (t) => [
    uniqueIndex('participants_meeting_participant_key').on(t.meetingId, t.participantId),
    index('participants_user_idx').on(t.userId),
    index('participants_seen_at_idx').on(sql`coalesce(${t.joinedAt}, ${t.leftAt})`),
  ],
);

/** MESSAGES (chat), partitioned by day on sent_at. */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').notNull(),
    key: varchar('key', { length: 128 }).notNull(),
    meetingId: uuid('meeting_id').notNull(),
    participantId: varchar('participant_id', { length: 64 }).notNull(),
    userId: uuid('user_id'),
    displayName: varchar('display_name', { length: 20 }).notNull(),
    text: text('text').notNull(),
    sentAt: tstz('sent_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'messages_pkey', columns: [t.id, t.sentAt] }),
    uniqueIndex('messages_key_sent_key').on(t.key, t.sentAt),
    // A meeting's chat transcript, in order.
    index('messages_meeting_sent_idx').on(t.meetingId, t.sentAt),
  ],
);

/** ANALYTICS events, partitioned by day on at. */
export const analyticsEvents = pgTable(
  'analytics_events',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    key: varchar('key', { length: 128 }).notNull(),
    meetingId: uuid('meeting_id').notNull(),
    event: varchar('event', { length: 32 }).notNull(),
    participantId: varchar('participant_id', { length: 64 }),
    props: jsonb('props').$type<Record<string, string | number | boolean | null>>().notNull(),
    at: tstz('at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'analytics_events_pkey', columns: [t.id, t.at] }),
    uniqueIndex('analytics_events_key_at_key').on(t.key, t.at),
    // One meeting's events; and events by time (per-hour/day counts within a partition).
    index('analytics_events_meeting_at_idx').on(t.meetingId, t.at),
    index('analytics_events_at_idx').on(t.at),
  ],
);

/** RECORDINGS metadata (files live in R2). Upserted from 'recording' history records. */
export const recordings = pgTable(
  'recordings',
  {
    id: uuid('id').primaryKey(),
    meetingId: uuid('meeting_id').notNull(),
    meetingLinkId: varchar('meeting_link_id', { length: 22 }).notNull(),
    status: text('status', { enum: ['recording', 'processing', 'uploading', 'ready', 'failed'] }).notNull(),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at'),
    durationMs: bigint('duration_ms', { mode: 'number' }),
    bytes: bigint('bytes', { mode: 'number' }),
    files: jsonb('files').$type<RecordingFile[]>().notNull(),
    error: text('error'),
    /** With 'failed': the files are stored and play, but the recording is not whole (`notes` say what). */
    incomplete: boolean('incomplete').notNull().default(false),
    /** Host-facing notes: what is missing or went wrong. */
    notes: jsonb('notes').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    /** `at` of the newest record applied: an older, redelivered status never overwrites a newer one. */
    statusAt: tstz('status_at').notNull(),
  },
  (t) => [index('recordings_meeting_idx').on(t.meetingId, t.startedAt)],
);

/** Records the consumer could not parse (from the dead-letter queue), kept for inspection. */
export const historyDeadLetters = pgTable('history_dead_letters', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  messageId: varchar('message_id', { length: 128 }).notNull().unique(),
  queue: varchar('queue', { length: 128 }).notNull(),
  body: text('body').notNull(),
  receivedAt: tstz('received_at').notNull().defaultNow(),
});
