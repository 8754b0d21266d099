import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../../schema/wire/errors.js';
import {
  createMeetingRequestSchema,
  listMeetingsQuerySchema,
  meetingLinkParamsSchema,
  meetingListResponseSchema,
  meetingPublicResponseSchema,
  meetingResponseSchema,
  participantCapProblem,
  updateMeetingRequestSchema,
  type MeetingSettings,
  type UpdateMeetingRequest,
} from '../../schema/wire/http.js';
import type { MeetingRow } from '../../schema/db/index.js';
import { randomBytes, toBase64Url } from '../auth/encoding.js';
import { edgeConfig } from '../config.js';
import { withDb, type Db } from '../db/client.js';
import { roomStub } from '../durable-objects.js';
import { endMeeting, findMeetingWithHost, insertMeeting, listHostMeetings, toMeeting, toMeetingPublic, toMeetingSettings, updateOpenMeeting, type MeetingPatch } from '../db/meetings.js';
import type { AppEnv } from '../http/app-env.js';
import { publicViews } from '../http/public-view-cache.js';
import { defineRoute } from './define-route.js';

/**
 * Meetings CRUD. Postgres is the record; after each write the meeting's RoomDO gets the new
 * settings (configure) so joins never need Postgres. Only the host may change or end a meeting.
 */
export const meetingRoutes = new Hono<AppEnv>();

defineRoute(meetingRoutes, {
  method: 'post', path: '/meetings', tag: 'meetings', summary: 'Create a meeting', auth: 'session',
  body: createMeetingRequestSchema, responses: { 201: meetingResponseSchema }, errors: ['DATABASE_UNAVAILABLE'],
}, async (c, { user, body }) => {
  const row = await withDb(c.env, (db) =>
    insertMeeting(db, {
      linkId: newLinkId(),
      hostId: user.id,
      title: body.title,
      scheduledStart: body.scheduledStart ? new Date(body.scheduledStart) : null,
      passcode: body.passcode ?? null,
      allowGuests: body.allowGuests,
      waitingRoom: body.waitingRoom,
      mode: body.mode,
      maxParticipants: body.maxParticipants,
    }),
  );
  await configureRoom(c, toMeetingSettings(row, user.displayName));
  return c.json({ meeting: toMeeting(row, joinUrl(c, row.linkId)) }, 201);
});

defineRoute(meetingRoutes, {
  method: 'get', path: '/meetings', tag: 'meetings', summary: 'My meetings (upcoming, past or all)', auth: 'session',
  query: listMeetingsQuerySchema, responses: { 200: meetingListResponseSchema }, errors: ['DATABASE_UNAVAILABLE'],
}, async (c, { user, query: { scope } }) => {
  const rows = await withDb(c.env, (db) => listHostMeetings(db, user.id, scope));
  return c.json({ meetings: rows.map((row) => toMeeting(row, joinUrl(c, row.linkId))) });
});

defineRoute(meetingRoutes, {
  method: 'get', path: '/meetings/:linkId', tag: 'meetings', auth: 'optional-session',
  summary: 'A meeting: the owner view for its host, the public view for anyone with the link',
  params: meetingLinkParamsSchema, responses: { 200: z.union([meetingResponseSchema, meetingPublicResponseSchema]) },
  errors: ['MEETING_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
}, async (c, { user, params: { linkId } }) => {
  // Every join starts with this (pre-join page). Links that lead nowhere are answered from the
  // edge cache; a meeting's public view comes from its RoomDO (current to the moment, no
  // Postgres); only the host's own view, or a room that was never configured, reads Postgres.
  const cached = await publicViews.get(c, linkId);
  if (cached?.kind === 'missing') throw meetingNotFound();
  const fromRoom = await roomStub(c.env, linkId).publicView();
  if (fromRoom && user?.id !== fromRoom.hostUserId) return c.json({ meeting: fromRoom.view });

  const found = await withDb(c.env, (db) => findMeetingWithHost(db, linkId));
  if (!found) {
    await publicViews.putMissing(c, linkId);
    throw meetingNotFound();
  }
  const view = toMeetingPublic(found.meeting, found.hostName);
  if (user?.id === found.meeting.hostId) {
    // The room knows first that its meeting went live or ended (Postgres hears through the history
    // queue, later, or much later while it is down): the host sees what the pre-join page sees.
    const own = toMeeting(found.meeting, joinUrl(c, linkId));
    return c.json({ meeting: fromRoom && fromRoom.view.status !== 'scheduled' && own.status !== 'ended' ? { ...own, status: fromRoom.view.status } : own });
  }
  return c.json({ meeting: view });
});

defineRoute(meetingRoutes, {
  method: 'patch', path: '/meetings/:linkId', tag: 'meetings', summary: 'Change a meeting (host only)', auth: 'session',
  params: meetingLinkParamsSchema, body: updateMeetingRequestSchema, responses: { 200: meetingResponseSchema },
  errors: ['MEETING_NOT_FOUND', 'NOT_HOST', 'MEETING_ENDED', 'DATABASE_UNAVAILABLE'],
}, async (c, { user, params: { linkId }, body }) => {
  const patch = toPatch(body);
  const row = await withDb(c.env, async (db) => {
    const found = await findHostedMeeting(db, linkId, user.id);
    // Ended in the room (End for all) before Postgres heard of it: no edits, as after an API end.
    const endedInRoom = async () => (await roomStub(c.env, linkId).publicView())?.view.status === 'ended';
    if (found.status === 'ended' || (await endedInRoom())) throw new AppError('MEETING_ENDED', 'this meeting has ended');
    const capProblem = patch.maxParticipants === undefined ? null : participantCapProblem(found.mode, patch.maxParticipants);
    if (capProblem) throw new AppError('VALIDATION_FAILED', `maxParticipants: ${capProblem}`);
    const updated = await updateOpenMeeting(db, found.id, patch);
    if (!updated) throw new AppError('MEETING_ENDED', 'this meeting has ended');
    return updated;
  });
  await configureRoom(c, toMeetingSettings(row, user.displayName));
  await publicViews.forget(c, linkId);
  return c.json({ meeting: toMeeting(row, joinUrl(c, linkId)) });
});

defineRoute(meetingRoutes, {
  method: 'post', path: '/meetings/:linkId/end', tag: 'meetings', summary: 'End a meeting for everyone (host only)', auth: 'session',
  params: meetingLinkParamsSchema, responses: { 200: meetingResponseSchema }, errors: ['MEETING_NOT_FOUND', 'NOT_HOST', 'DATABASE_UNAVAILABLE'],
}, async (c, { user, params: { linkId } }) => {
  const row = await withDb(c.env, async (db) => endMeeting(db, (await findHostedMeeting(db, linkId, user.id)).id, new Date()));
  const room = roomStub(c.env, linkId);
  await room.configure(toMeetingSettings(row, user.displayName));
  await room.end();
  await publicViews.forget(c, linkId);
  return c.json({ meeting: toMeeting(row, joinUrl(c, linkId)) });
});

async function findHostedMeeting(db: Db, linkId: string, userId: string): Promise<MeetingRow> {
  const found = await findMeetingWithHost(db, linkId);
  if (!found) throw meetingNotFound();
  if (found.meeting.hostId !== userId) throw new AppError('NOT_HOST', 'only the host may change this meeting');
  return found.meeting;
}

function toPatch(body: UpdateMeetingRequest): MeetingPatch {
  const patch: MeetingPatch = {};
  if (body.title !== undefined) patch.title = body.title;
  if (body.scheduledStart !== undefined) patch.scheduledStart = body.scheduledStart === null ? null : new Date(body.scheduledStart);
  if (body.passcode !== undefined) patch.passcode = body.passcode;
  if (body.allowGuests !== undefined) patch.allowGuests = body.allowGuests;
  if (body.waitingRoom !== undefined) patch.waitingRoom = body.waitingRoom;
  if (body.maxParticipants !== undefined) patch.maxParticipants = body.maxParticipants;
  return patch;
}

async function configureRoom(c: Context<AppEnv>, settings: MeetingSettings): Promise<void> {
  await roomStub(c.env, settings.linkId).configure(settings);
}

/** 16 random bytes → 22 base64url characters (128 bits: unguessable). */
function newLinkId(): string {
  return toBase64Url(randomBytes(16));
}

function joinUrl(c: Context<AppEnv>, linkId: string): string {
  const base = edgeConfig(c.env).publicUrl ?? new URL(c.req.url).origin;
  return `${base}/m/${linkId}`;
}

function meetingNotFound(): AppError {
  return new AppError('MEETING_NOT_FOUND', 'no meeting with this link');
}
