import { z } from 'zod';
import { regionIdSchema } from '../regions.js';
import { displayNameSchema, isoDateSchema, meetingLinkIdSchema, NO_NUL, nodeIdSchema, participantIdSchema, roleSchema, uuidSchema } from './common.js';
import { nodeExclusionSchema, nodeLoadSchema, nodeStateSchema, recordingFileSchema, recordingStatusSchema } from './node-control.js';
import { mediaAssignmentSchema } from './room.js';

/**
 * Browser ↔ edge HTTP API, all under /api. Authenticated routes take
 * `Authorization: Bearer <session token>`. Errors answer `errorBodySchema` (errors.ts).
 */

/** Largest JSON request body any route reads (413 PAYLOAD_TOO_LARGE beyond); avatars and recording files have their own. */
export const JSON_BODY_MAX_BYTES = 16 * 1024;

// ── auth ────────────────────────────────────────────────────────────────────────────────
export const emailSchema = z.email().max(254).transform((email) => email.toLowerCase());
export const passwordSchema = z.string().min(8, 'password needs at least 8 characters').max(256);

export const registerRequestSchema = z.object({ email: emailSchema, displayName: displayNameSchema, password: passwordSchema });
export const loginRequestSchema = z.object({ email: emailSchema, password: z.string().min(1).max(256) });

export const userSchema = z.object({
  id: uuidSchema,
  email: z.string(),
  displayName: displayNameSchema,
  avatarUrl: z.string().nullable(),
  createdAt: isoDateSchema,
});
export type User = z.infer<typeof userSchema>;

export const sessionResponseSchema = z.object({ user: userSchema, token: z.string(), expiresAt: isoDateSchema });
export const meResponseSchema = z.object({ user: userSchema });
/** PUT /api/auth/avatar with the image bytes as body: Content-Type image/png or image/jpeg, ≤ 400×400. */
export const AVATAR_MAX_SIDE = 400;
export const AVATAR_MAX_BYTES = 512 * 1024;
export const avatarResponseSchema = z.object({ avatarUrl: z.string() });

// ── meetings ────────────────────────────────────────────────────────────────────────────
/** New passcodes: 6–10 letters or digits (≥ 56 bits of guessing, with attempts limited per network and meeting). Joins still accept older, shorter ones. */
export const passcodeSchema = z.string().regex(/^[A-Za-z0-9]{6,10}$/, 'passcode is 6–10 letters or digits');
export const meetingTitleSchema = z.string().trim().min(1).max(200).refine(...NO_NUL);

/**
 * meeting: everyone may speak and show video (up to MAX_MEETING_PARTICIPANTS). webinar: the host
 * and those they invite to speak present; everyone else joins as an attendee who watches, chats
 * and raises a hand (up to MAX_WEBINAR_PARTICIPANTS). Chosen when the meeting is created.
 */
export const meetingModeSchema = z.enum(['meeting', 'webinar']);
export type MeetingMode = z.infer<typeof meetingModeSchema>;
export const MAX_MEETING_PARTICIPANTS = 1_000;
export const MAX_WEBINAR_PARTICIPANTS = 10_000;

/** The participant cap a meeting of this mode may have; answers the error text when over it. */
export function participantCapProblem(mode: MeetingMode, maxParticipants: number): string | null {
  const cap = mode === 'webinar' ? MAX_WEBINAR_PARTICIPANTS : MAX_MEETING_PARTICIPANTS;
  return maxParticipants > cap ? `a ${mode} takes at most ${cap} participants` : null;
}

export const createMeetingRequestSchema = z
  .object({
    title: meetingTitleSchema,
    scheduledStart: isoDateSchema.optional(),
    passcode: passcodeSchema.optional(),
    allowGuests: z.boolean().default(true),
    waitingRoom: z.boolean().default(false),
    mode: meetingModeSchema.default('meeting'),
    maxParticipants: z.number().int().min(2).max(MAX_WEBINAR_PARTICIPANTS).default(100),
  })
  .superRefine((request, context) => {
    const problem = participantCapProblem(request.mode, request.maxParticipants);
    if (problem) context.addIssue({ code: 'custom', path: ['maxParticipants'], message: problem });
  });
export type CreateMeetingRequest = z.infer<typeof createMeetingRequestSchema>;

export const updateMeetingRequestSchema = z
  .object({
    title: meetingTitleSchema,
    scheduledStart: isoDateSchema.nullable(),
    passcode: passcodeSchema.nullable(),
    allowGuests: z.boolean(),
    waitingRoom: z.boolean(),
    maxParticipants: z.number().int().min(2).max(MAX_WEBINAR_PARTICIPANTS),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to update');
export type UpdateMeetingRequest = z.infer<typeof updateMeetingRequestSchema>;

export const meetingStatusSchema = z.enum(['scheduled', 'live', 'ended']);

/** The owner's view of a meeting. */
export const meetingSchema = z.object({
  id: uuidSchema,
  linkId: meetingLinkIdSchema,
  joinUrl: z.string(),
  title: z.string(),
  hostId: uuidSchema,
  scheduledStart: isoDateSchema.nullable(),
  hasPasscode: z.boolean(),
  passcode: z.string().nullable(),
  allowGuests: z.boolean(),
  waitingRoom: z.boolean(),
  mode: meetingModeSchema,
  maxParticipants: z.number().int(),
  status: meetingStatusSchema,
  createdAt: isoDateSchema,
  endedAt: isoDateSchema.nullable(),
});
export type Meeting = z.infer<typeof meetingSchema>;

/** What anyone holding the link may see before joining. */
export const meetingPublicSchema = z.object({
  linkId: meetingLinkIdSchema,
  title: z.string(),
  hostName: displayNameSchema,
  scheduledStart: isoDateSchema.nullable(),
  needsPasscode: z.boolean(),
  allowGuests: z.boolean(),
  waitingRoom: z.boolean(),
  mode: meetingModeSchema,
  status: meetingStatusSchema,
});
export type MeetingPublic = z.infer<typeof meetingPublicSchema>;

/**
 * Edge → RoomDO: everything the room needs to admit joins without asking Postgres. The meetings
 * routes write Postgres first, then call `RoomDO.configure(settings)` (idFromName(linkId)); ending a
 * meeting calls `RoomDO.end()`. `version` grows with every change (ms since epoch of the update),
 * so a RoomDO keeps the newest settings if two configure calls cross.
 */
export const meetingSettingsSchema = z.object({
  meetingId: uuidSchema,
  linkId: meetingLinkIdSchema,
  title: z.string(),
  hostUserId: uuidSchema,
  hostName: displayNameSchema,
  /** Plain passcode (the host sees it in the owner view); null = none. Compare in constant time. */
  passcode: z.string().nullable(),
  allowGuests: z.boolean(),
  waitingRoom: z.boolean(),
  /** Rooms configured before webinars existed are meetings. */
  mode: meetingModeSchema.default('meeting'),
  maxParticipants: z.number().int().min(2),
  scheduledStart: isoDateSchema.nullable(),
  endedAt: isoDateSchema.nullable(),
  version: z.number().int().nonnegative(),
});
export type MeetingSettings = z.infer<typeof meetingSettingsSchema>;

export const meetingLinkParamsSchema = z.object({ linkId: meetingLinkIdSchema });
export const listMeetingsQuerySchema = z.object({ scope: z.enum(['upcoming', 'past', 'all']).default('all') });
export const meetingResponseSchema = z.object({ meeting: meetingSchema });
export const meetingPublicResponseSchema = z.object({ meeting: meetingPublicSchema });
export const meetingListResponseSchema = z.object({ meetings: z.array(meetingSchema) });

// ── join ────────────────────────────────────────────────────────────────────────────────
/**
 * X-Edgemeet-Location (local runs with TRUST_LOCATION_HEADER only): where the client says it is,
 * "latitude,longitude" in degrees — standing in for request.cf, which is one place on one machine.
 */
export const LOCATION_HEADER = 'X-Edgemeet-Location';
export const locationHeaderSchema = z
  .string()
  .max(40)
  .regex(/^\s*-?\d{1,2}(\.\d+)?\s*,\s*-?\d{1,3}(\.\d+)?\s*$/, 'expected "latitude,longitude" in degrees')
  .transform((text) => text.split(',').map((part) => part.trim()))
  .refine(([lat, lon]) => Math.abs(Number(lat)) <= 90 && Math.abs(Number(lon)) <= 180, 'latitude within ±90, longitude within ±180')
  .transform(([latitude, longitude]) => ({ latitude: latitude!, longitude: longitude! }));

/** POST /api/meetings/:linkId/join — signed-in users join as themselves; guests give a name. */
export const joinRequestSchema = z.object({
  displayName: displayNameSchema.optional(),
  passcode: z.string().max(32).optional(),
  /** Guests: a random key their browser keeps, so a removed guest stays out under a new name. */
  guestKey: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'guestKey must be 16–64 URL-safe characters').optional(),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinResponseSchema = z.object({
  participantId: participantIdSchema,
  role: roleSchema,
  /** Opaque token for the room WebSocket: offered as a subprotocol (roomSocketProtocols), never in the URL. */
  roomSession: z.string(),
  status: z.enum(['joined', 'waiting']),
  /** Present when joined: where this participant's media goes. */
  media: mediaAssignmentSchema.nullable(),
});
export type JoinResponse = z.infer<typeof joinResponseSchema>;

/**
 * The room socket's session is a bearer secret, so it travels in Sec-WebSocket-Protocol and never
 * in the URL (URLs end up in logs and history; issue 13, point 16). The client offers both
 * protocols; the server answers with ROOM_SOCKET_PROTOCOL only.
 */
export const ROOM_SOCKET_PROTOCOL = 'edgemeet.room';
export const ROOM_SESSION_PROTOCOL_PREFIX = 'edgemeet.session.';

/** What a client passes to `new WebSocket(url, protocols)`. */
export function roomSocketProtocols(roomSession: string): string[] {
  return [ROOM_SOCKET_PROTOCOL, `${ROOM_SESSION_PROTOCOL_PREFIX}${roomSession}`];
}

/** The room session a Sec-WebSocket-Protocol header offers alongside ROOM_SOCKET_PROTOCOL, or null. */
export function roomSessionOfProtocols(header: string | null | undefined): string | null {
  const offered = (header ?? '').split(',').map((protocol) => protocol.trim());
  if (!offered.includes(ROOM_SOCKET_PROTOCOL)) return null;
  const session = offered.find((protocol) => protocol.startsWith(ROOM_SESSION_PROTOCOL_PREFIX))?.slice(ROOM_SESSION_PROTOCOL_PREFIX.length);
  return session !== undefined && session.length >= 16 && session.length <= 512 ? session : null;
}

export const roomSocketHeadersSchema = z.object({
  'sec-websocket-protocol': z
    .string()
    .max(1024)
    .refine((header) => roomSessionOfProtocols(header) !== null, `offer the subprotocols ${ROOM_SOCKET_PROTOCOL} and ${ROOM_SESSION_PROTOCOL_PREFIX}<roomSession>`),
});

// ── recordings ──────────────────────────────────────────────────────────────────────────
export const recordingSchema = z.object({
  id: uuidSchema,
  meetingId: uuidSchema,
  status: recordingStatusSchema,
  startedAt: isoDateSchema,
  endedAt: isoDateSchema.nullable(),
  durationMs: z.number().int().nullable(),
  bytes: z.number().int().nullable(),
  files: z.array(recordingFileSchema),
  error: z.string().nullable(),
  /** With 'failed': the files are stored and play, but the recording is not whole (`notes` say what). */
  incomplete: z.boolean(),
  /** What is missing or went wrong, for the host (empty for a whole recording). */
  notes: z.array(z.string()),
});
export type Recording = z.infer<typeof recordingSchema>;
export const recordingListResponseSchema = z.object({ recordings: z.array(recordingSchema) });
export const recordingParamsSchema = z.object({ recordingId: uuidSchema });
/** GET /api/recordings/:recordingId/download?file=<key> → a signed, expiring URL. */
export const recordingDownloadQuerySchema = z.object({ file: z.string().max(512).optional() });
export const recordingDownloadResponseSchema = z.object({ url: z.string(), expiresAt: isoDateSchema });

// ── fleet (operators, `Authorization: Bearer <admin token>`) ────────────────────────────
export const fleetNodeSchema = z.object({
  nodeId: nodeIdSchema,
  region: regionIdSchema,
  state: z.enum(['serving', 'draining', 'down']),
  signalingUrl: z.string(),
  lastHeartbeatAt: z.number().int(),
  load: nodeLoadSchema,
  rooms: z.number().int(),
  /**
   * Consumers placement counts on the node beyond its report: reservations of rooms still filling
   * and rooms assigned since its last report (a node "full" with little load is full of these).
   */
  reservedConsumers: z.number().int().nonnegative().optional(),
  /** Why placement gives the node no new rooms now (empty: it takes rooms). */
  excludedBecause: z.array(nodeExclusionSchema).max(16),
});
export const fleetRegionSchema = z.object({
  id: regionIdSchema,
  name: z.string(),
  roles: z.array(z.enum(['control', 'media'])),
  baselineNodes: z.number().int(),
  reserveNodes: z.number().int(),
  nodes: z.array(fleetNodeSchema),
});
export const fleetResponseSchema = z.object({ regions: z.array(fleetRegionSchema) });
export const drainNodeParamsSchema = z.object({ region: regionIdSchema, nodeId: nodeIdSchema });
export const drainNodeRequestSchema = z.object({ deadline: isoDateSchema.optional() });
