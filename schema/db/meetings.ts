import { sql } from 'drizzle-orm';
import { boolean, char, index, integer, pgTable, text, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { timestamps, tstz } from './columns.js';
import { users } from './users.js';

/** MEETINGS. `link_id` is the meeting key everywhere else (RoomDO name, node room, media token). */
export const meetings = pgTable(
  'meetings',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    linkId: char('link_id', { length: 22 }).notNull(),
    hostId: uuid('host_id')
      .notNull()
      .references(() => users.id),
    title: varchar('title', { length: 200 }).notNull(),
    scheduledStart: tstz('scheduled_start'),
    /** Shown to the host in the owner view, so stored as entered (it is a room code, not a login secret). */
    passcode: varchar('passcode', { length: 10 }),
    allowGuests: boolean('allow_guests').notNull().default(true),
    waitingRoom: boolean('waiting_room').notNull().default(false),
    maxParticipants: integer('max_participants').notNull().default(100),
    /** meeting: everyone may speak; webinar: a few presenters, everyone else watches (attendees). */
    mode: text('mode', { enum: ['meeting', 'webinar'] }).notNull().default('meeting'),
    /** scheduled → live (first join, from history) → ended (host, or history). */
    status: text('status', { enum: ['scheduled', 'live', 'ended'] }).notNull().default('scheduled'),
    startedAt: tstz('started_at'),
    endedAt: tstz('ended_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('meetings_link_id_key').on(t.linkId),
    // "my meetings", upcoming/past, ordered by start
    index('meetings_host_scheduled_idx').on(t.hostId, t.scheduledStart),
  ],
);
export type MeetingRow = typeof meetings.$inferSelect;
