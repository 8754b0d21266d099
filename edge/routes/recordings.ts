import { and, desc, eq, sql } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { meetings, participants, recordings, type MeetingRow } from '../../schema/db/index.js';
import { AppError } from '../../schema/wire/errors.js';
import {
  meetingLinkParamsSchema,
  recordingDownloadQuerySchema,
  recordingDownloadResponseSchema,
  recordingListResponseSchema,
  recordingParamsSchema,
  type Recording,
} from '../../schema/wire/http.js';
import { recordingContentTypeOf, recordingUploadParamsSchema } from '../../schema/wire/recording-upload.js';
import { edgeConfig } from '../config.js';
import { withDb, type Db } from '../db/client.js';
import type { AppEnv } from '../http/app-env.js';
import { defineRoute } from './define-route.js';
import { DOWNLOAD_LINK_TTL_SECONDS, recordingObjectKey, signDownload, verifyDownload } from './recording-links.js';

/**
 * Recordings for people: a meeting's recordings (Postgres RECORDINGS rows) and their files through
 * signed, expiring, Range-capable links. Media nodes upload them via recording-uploads.ts.
 */
export const recordingRoutes = new Hono<AppEnv>();

const signedFileQuerySchema = z.object({ expires: z.coerce.number().int(), sig: z.string().max(64) });

// ── listing and download links (signed-in users) ──────────────────────────────────────────
type RecordingRow = typeof recordings.$inferSelect;

function toRecording(row: RecordingRow): Recording {
  return {
    id: row.id,
    meetingId: row.meetingId,
    status: row.status,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt ? row.endedAt.toISOString() : null,
    durationMs: row.durationMs,
    bytes: row.bytes,
    files: row.files,
    error: row.error,
    incomplete: row.incomplete,
    notes: row.notes,
  };
}

/**
 * Host always; people who took part in the meeting too unless RECORDINGS_VISIBILITY=host — not
 * someone the host removed: any session of theirs removed bars them (a second device that joined
 * earlier and left normally does not undo it), unless a session of theirs came in after their
 * latest removal (the host lifted it and let them back in).
 */
async function assertMaySee(c: Context<AppEnv>, db: Db, meeting: MeetingRow, userId: string): Promise<void> {
  if (meeting.hostId === userId) return;
  if (edgeConfig(c.env).recordingsVisibility === 'participants') {
    const seenAt = sql`coalesce(${participants.joinedAt}, ${participants.leftAt})`;
    const removed = sql`${participants.leaveReason} = 'removed'`;
    // A removal without a time counts as the newest (it bars until a later session proves otherwise).
    const removedAt = sql`max(coalesce(${participants.leftAt}, 'infinity'::timestamptz)) filter (where ${removed})`;
    const [seen] = await db
      .select({
        sessions: sql<number>`count(*)::int`,
        mayAccess: sql<boolean>`(${removedAt} is null or coalesce(max(${seenAt}) filter (where not coalesce(${removed}, false)) > ${removedAt}, false))`,
      })
      .from(participants)
      .where(and(eq(participants.meetingId, meeting.id), eq(participants.userId, userId)));
    if (seen && seen.sessions > 0 && seen.mayAccess) return;
  }
  throw new AppError('FORBIDDEN', "only the meeting's host and participants may see its recordings");
}

defineRoute(recordingRoutes, {
  method: 'get', path: '/meetings/:linkId/recordings', tag: 'recordings', summary: "A meeting's recordings (host, and participants unless RECORDINGS_VISIBILITY=host)", auth: 'session',
  params: meetingLinkParamsSchema, responses: { 200: recordingListResponseSchema }, errors: ['FORBIDDEN', 'MEETING_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
}, async (c, { user, params: { linkId } }) => {
  const list = await withDb(c.env, async (db) => {
    const [meeting] = await db.select().from(meetings).where(eq(meetings.linkId, linkId)).limit(1);
    if (!meeting) throw new AppError('MEETING_NOT_FOUND', 'no meeting with this link');
    await assertMaySee(c, db, meeting, user.id);
    return db.select().from(recordings).where(eq(recordings.meetingId, meeting.id)).orderBy(desc(recordings.startedAt)).limit(200);
  });
  return c.json({ recordings: list.map(toRecording) });
});

defineRoute(recordingRoutes, {
  method: 'get', path: '/recordings/:recordingId/download', tag: 'recordings', summary: 'A signed, expiring download link', auth: 'session',
  params: recordingParamsSchema, query: recordingDownloadQuerySchema, responses: { 200: recordingDownloadResponseSchema },
  errors: ['FORBIDDEN', 'RECORDING_NOT_FOUND', 'NOT_FOUND', 'DATABASE_UNAVAILABLE'],
}, async (c, { user, params: { recordingId }, query: { file } }) => {
  const recording = await withDb(c.env, async (db) => {
    const [row] = await db.select().from(recordings).where(eq(recordings.id, recordingId)).limit(1);
    if (!row) throw new AppError('RECORDING_NOT_FOUND', 'no such recording');
    const [meeting] = await db.select().from(meetings).where(eq(meetings.id, row.meetingId)).limit(1);
    if (!meeting) throw new AppError('RECORDING_NOT_FOUND', 'no such recording');
    await assertMaySee(c, db, meeting, user.id);
    return row;
  });
  // Default: the composite. `file` may be a key or a bare file name of this recording.
  const wanted = file ? recording.files.find((f) => f.key === file || f.key === recordingObjectKey(recordingId, file)) : recording.files.find((f) => f.kind === 'composite');
  if (!wanted) throw new AppError('NOT_FOUND', recording.status === 'ready' || recording.incomplete ? 'no such file in this recording' : `the recording is ${recording.status}; files are not available yet`);
  const name = wanted.key.slice(wanted.key.lastIndexOf('/') + 1);
  const expires = Math.floor(Date.now() / 1000) + DOWNLOAD_LINK_TTL_SECONDS;
  const config = edgeConfig(c.env);
  const path = await signDownload(config.urlSigningSecret, recordingId, name, expires);
  const origin = config.publicUrl ?? new URL(c.req.url).origin;
  return c.json({ url: `${origin}${path}`, expiresAt: new Date(expires * 1000).toISOString() });
});

// ── signed file access: streams from R2, honours Range for seeking in <video> ─────────────
defineRoute(recordingRoutes, {
  method: ['get', 'head'], path: '/recordings/:recordingId/files/:name', tag: 'recordings', summary: 'A recording file through a signed, expiring link (Range supported)', auth: 'none',
  params: recordingUploadParamsSchema, query: signedFileQuerySchema,
  responses: { 200: 'the file', 206: 'a byte range of the file', 416: 'the range cannot be served' }, errors: ['FORBIDDEN', 'NOT_FOUND'],
}, async (c, { params: { recordingId, name }, query: { expires, sig } }) => {
  if (!(await verifyDownload(edgeConfig(c.env).urlSigningSecret, recordingId, name, expires, sig, Math.floor(Date.now() / 1000)))) {
    throw new AppError('FORBIDDEN', 'download link is invalid or has expired; ask for a new one');
  }
  const key = recordingObjectKey(recordingId, name);
  const rangeHeader = c.req.header('Range');
  let object: R2ObjectBody | R2Object | null;
  try {
    object = c.req.method === 'HEAD' ? await c.env.FILES.head(key) : await c.env.FILES.get(key, rangeHeader ? { range: c.req.raw.headers } : {});
  } catch {
    return c.body(null, 416, { 'Content-Range': 'bytes */*' });
  }
  if (!object) throw new AppError('NOT_FOUND', 'file not found');
  const headers = new Headers({ 'Accept-Ranges': 'bytes', ETag: object.httpEtag, 'Cache-Control': 'private, max-age=300' });
  object.writeHttpMetadata(headers);
  // Our own content type, never the stored one, and always a download when opened as a page:
  // <video> ignores Content-Disposition, so the composite still plays in the web app's player.
  headers.set('Content-Type', recordingContentTypeOf(name));
  headers.set('Content-Disposition', `attachment; filename="${name}"`);
  const body: ReadableStream | null = 'body' in object ? (object as R2ObjectBody).body : null;
  const range = rangeHeader && 'body' in object ? object.range : undefined;
  if (range && !(range instanceof Headers)) {
    const offset = 'offset' in range && range.offset !== undefined ? range.offset : 'suffix' in range ? object.size - range.suffix : 0;
    const length = 'length' in range && range.length !== undefined ? range.length : object.size - offset;
    headers.set('Content-Range', `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set('Content-Length', String(length));
    return new Response(body, { status: 206, headers });
  }
  headers.set('Content-Length', String(object.size));
  return new Response(body, { status: 200, headers });
});
