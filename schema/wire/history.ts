import { z } from 'zod';
import { displayNameSchema, meetingLinkIdSchema, participantIdSchema, roleSchema, uuidSchema } from './common.js';
import { recordingFileSchema, recordingStatusSchema } from './node-control.js';

/**
 * History rows leave each RoomDO through its outbox into the HISTORY queue; the queue consumer
 * writes them to Postgres in batches. `key` is the idempotency key: a redelivered record never
 * creates a second row (insert … on conflict do nothing / update to the same values).
 */
const base = { key: z.string().min(1).max(128), meetingId: uuidSchema, meetingLinkId: meetingLinkIdSchema, at: z.number().int() };

export const analyticsEventSchema = z.enum([
  'meeting_started',
  'meeting_ended',
  'join',
  'leave',
  'removed',
  'message_sent',
  'hand_raised',
  'muted_by_host',
  'recording_started',
  'recording_stopped',
  'waiting_room_entered',
  'admitted',
  'denied',
]);
export type AnalyticsEvent = z.infer<typeof analyticsEventSchema>;

export const historyRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('participantJoined'),
    ...base,
    participantId: participantIdSchema,
    userId: uuidSchema.nullable(),
    displayName: displayNameSchema,
    role: roleSchema,
  }),
  z.object({ kind: z.literal('participantLeft'), ...base, participantId: participantIdSchema, reason: z.string().max(64) }),
  z.object({
    kind: z.literal('message'),
    ...base,
    messageId: uuidSchema,
    participantId: participantIdSchema,
    userId: uuidSchema.nullable(),
    displayName: displayNameSchema,
    text: z.string().max(4000),
  }),
  z.object({
    kind: z.literal('analytics'),
    ...base,
    event: analyticsEventSchema,
    participantId: participantIdSchema.nullable(),
    props: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  }),
  z.object({ kind: z.literal('meetingStatus'), ...base, status: z.enum(['live', 'ended']) }),
  z.object({
    kind: z.literal('recording'),
    ...base,
    recordingId: uuidSchema,
    status: recordingStatusSchema,
    durationMs: z.number().int().nullable(),
    files: z.array(recordingFileSchema),
    error: z.string().nullable(),
    /** With 'failed': files stored and playable, but the recording is not whole (`notes` say what). */
    incomplete: z.boolean().optional(),
    notes: z.array(z.string().max(300)).max(32).optional(),
  }),
]);
export type HistoryRecord = z.infer<typeof historyRecordSchema>;

/**
 * One queue message: a single record, or several packed together. Cloudflare delivers at most 100
 * messages per batch, so an outbox that packs records (up to HISTORY_RECORDS_PER_MESSAGE, well
 * under the 128 KB message limit) lets the consumer write thousands of rows per batch.
 */
export const HISTORY_RECORDS_PER_MESSAGE = 50;
export const historyMessageSchema = z.union([historyRecordSchema, z.array(z.unknown()).min(1).max(HISTORY_RECORDS_PER_MESSAGE)]);
export type HistoryMessage = HistoryRecord | HistoryRecord[];
