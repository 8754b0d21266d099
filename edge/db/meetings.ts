import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import { meetings, users, type MeetingRow } from '../../schema/db/index.js';
import type { Meeting, MeetingPublic, MeetingSettings } from '../../schema/wire/http.js';
import type { Db } from './client.js';

export interface MeetingWithHost {
  meeting: MeetingRow;
  hostName: string;
}

export type NewMeeting = Pick<MeetingRow, 'linkId' | 'hostId' | 'title' | 'scheduledStart' | 'passcode' | 'allowGuests' | 'waitingRoom' | 'maxParticipants' | 'mode'>;
export type MeetingPatch = Partial<Pick<MeetingRow, 'title' | 'scheduledStart' | 'passcode' | 'allowGuests' | 'waitingRoom' | 'maxParticipants'>>;

export async function insertMeeting(db: Db, values: NewMeeting): Promise<MeetingRow> {
  const [row] = await db.insert(meetings).values(values).returning();
  return row!;
}

export async function findMeetingWithHost(db: Db, linkId: string): Promise<MeetingWithHost | null> {
  const [row] = await db
    .select({ meeting: meetings, hostName: users.displayName })
    .from(meetings)
    .innerJoin(users, eq(users.id, meetings.hostId))
    .where(eq(meetings.linkId, linkId))
    .limit(1);
  return row ?? null;
}

/** A meeting scheduled this long ago still counts as coming up (it may be running late). */
const UPCOMING_GRACE = sql`interval '1 day'`;

/**
 * "upcoming" = not ended yet: those scheduled from a day ago on, soonest first, then the rest (not
 * scheduled, or scheduled long ago and never ended: a meeting only ends by "End for all") newest
 * first, so the limit cuts the stale ones, never one just created. "past" = ended (latest first).
 */
export async function listHostMeetings(db: Db, hostId: string, scope: 'upcoming' | 'past' | 'all', limit = 200): Promise<MeetingRow[]> {
  const base = db.select().from(meetings);
  if (scope === 'upcoming') {
    const comingUp = sql`${meetings.scheduledStart} >= now() - ${UPCOMING_GRACE}`;
    return base
      .where(and(eq(meetings.hostId, hostId), ne(meetings.status, 'ended')))
      .orderBy(sql`case when ${comingUp} then 0 else 1 end`, sql`case when ${comingUp} then ${meetings.scheduledStart} end asc`, desc(sql`coalesce(${meetings.scheduledStart}, ${meetings.createdAt})`))
      .limit(limit);
  }
  if (scope === 'past') {
    return base
      .where(and(eq(meetings.hostId, hostId), eq(meetings.status, 'ended')))
      .orderBy(desc(meetings.endedAt))
      .limit(limit);
  }
  return base.where(eq(meetings.hostId, hostId)).orderBy(desc(meetings.createdAt)).limit(limit);
}

/** Applies a patch to a meeting that has not ended; null if it has (or is gone). */
export async function updateOpenMeeting(db: Db, id: string, patch: MeetingPatch): Promise<MeetingRow | null> {
  const [row] = await db
    .update(meetings)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(meetings.id, id), ne(meetings.status, 'ended')))
    .returning();
  return row ?? null;
}

/** Marks a meeting ended (keeps the first end time when called again). */
export async function endMeeting(db: Db, id: string, at: Date): Promise<MeetingRow> {
  const [row] = await db
    .update(meetings)
    .set({ status: 'ended', endedAt: sql`coalesce(${meetings.endedAt}, ${at.toISOString()}::timestamptz)`, updatedAt: at })
    .where(eq(meetings.id, id))
    .returning();
  return row!;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toMeeting(row: MeetingRow, joinUrl: string): Meeting {
  return {
    id: row.id,
    linkId: row.linkId,
    joinUrl,
    title: row.title,
    hostId: row.hostId,
    scheduledStart: iso(row.scheduledStart),
    hasPasscode: row.passcode !== null,
    passcode: row.passcode,
    allowGuests: row.allowGuests,
    waitingRoom: row.waitingRoom,
    mode: row.mode,
    maxParticipants: row.maxParticipants,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    endedAt: iso(row.endedAt),
  };
}

export function toMeetingPublic(row: MeetingRow, hostName: string): MeetingPublic {
  return {
    linkId: row.linkId,
    title: row.title,
    hostName,
    scheduledStart: iso(row.scheduledStart),
    needsPasscode: row.passcode !== null,
    allowGuests: row.allowGuests,
    waitingRoom: row.waitingRoom,
    mode: row.mode,
    status: row.status,
  };
}

export function toMeetingSettings(row: MeetingRow, hostName: string): MeetingSettings {
  return {
    meetingId: row.id,
    linkId: row.linkId,
    title: row.title,
    hostUserId: row.hostId,
    hostName,
    passcode: row.passcode,
    allowGuests: row.allowGuests,
    waitingRoom: row.waitingRoom,
    mode: row.mode,
    maxParticipants: row.maxParticipants,
    scheduledStart: iso(row.scheduledStart),
    endedAt: iso(row.endedAt),
    version: row.updatedAt.getTime(),
  };
}
