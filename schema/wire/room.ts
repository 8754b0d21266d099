import { z } from 'zod';
import { displayNameSchema, mediaKindSchema, participantIdSchema, roleSchema, uuidSchema } from './common.js';
import { errorCodeSchema } from './errors.js';
import { recordingStatusSchema } from './node-control.js';
import { RECORDING_MAX_SEGMENTS, recordingSegmentSchema } from './recording-segments.js';

/**
 * Browser ↔ RoomDO room signaling, over a hibernatable WebSocket:
 *   wss://<edge>/api/meetings/:linkId/ws, subprotocols ['edgemeet.room', 'edgemeet.session.<room session from the join answer>']
 * Participants, chat, hands, host actions and recording state go here; media goes to the node.
 */
export const CHAT_MAX_LENGTH = 2_000;

export const participantViewSchema = z.object({
  participantId: participantIdSchema,
  displayName: displayNameSchema,
  role: roleSchema,
  userId: uuidSchema.nullable(),
  handRaised: z.boolean(),
  /** Muted by the host (the participant's own mute shows as a paused producer on the node). */
  mutedByHost: z.object({ audio: z.boolean(), video: z.boolean() }),
  joinedAt: z.number().int(),
});
export type ParticipantView = z.infer<typeof participantViewSchema>;

export const waitingParticipantSchema = z.object({
  participantId: participantIdSchema,
  displayName: displayNameSchema,
  userId: uuidSchema.nullable(),
  since: z.number().int(),
});
export type WaitingParticipant = z.infer<typeof waitingParticipantSchema>;

export const chatMessageSchema = z.object({
  messageId: uuidSchema,
  participantId: participantIdSchema,
  displayName: displayNameSchema,
  text: z.string().max(CHAT_MAX_LENGTH),
  sentAt: z.number().int(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A TURN server for the browser's RTCPeerConnection, with time-limited credentials (TURN REST scheme). */
export const iceServerSchema = z.object({
  urls: z.array(z.string().max(300)).min(1).max(8),
  username: z.string().max(200),
  credential: z.string().max(200),
});
export type IceServer = z.infer<typeof iceServerSchema>;

export const mediaAssignmentSchema = z.object({
  nodeId: z.string(),
  region: z.string(),
  /** Base URL of the node's signaling endpoint (wss:// or ws:// locally). */
  signalingUrl: z.string(),
  /** Short-lived media token for this participant on that node. */
  token: z.string(),
  expiresAt: z.number().int(),
  /** TURN relays for clients whose network blocks direct UDP/TCP to the node (absent: none configured). */
  iceServers: z.array(iceServerSchema).max(4).optional(),
});
export type MediaAssignment = z.infer<typeof mediaAssignmentSchema>;

/** At most this many parts of earlier recordings are remembered (RecordingState.detachedParts). */
export const RECORDING_MAX_DETACHED_PARTS = 32;

export const recordingStateSchema = z.object({
  active: z.boolean(),
  recordingId: uuidSchema.nullable(),
  startedAt: z.number().int().nullable(),
  status: recordingStatusSchema.nullable(),
  /**
   * false from Record until the node's capture window opens (its node reports 'recording'): the
   * page says "Starting recording…", so nobody takes those seconds for recorded. Absent: capturing.
   */
  capturing: z.boolean().optional(),
  /** With 'failed': the files were stored and play, but the recording is not whole (see notes). */
  incomplete: z.boolean().optional(),
  /** What the host should know: what is missing, or why it failed (from the node, or the room's deadline). */
  notes: z.array(z.string().max(300)).max(32).optional(),
  /** Length of the recording, once the node reported it. */
  durationMs: z.number().int().nonnegative().optional(),
  /** Parts of a recording that went on on another media node after a failover (absent: one part). */
  segments: z.array(recordingSegmentSchema).max(RECORDING_MAX_SEGMENTS).optional(),
  /**
   * Parts no longer in `segments` whose node may still report them — an earlier recording's parts
   * once Record was pressed again, a next part the recording ended without (its node had not
   * answered) — each with its line for the host: a late status of one is a part's, never a whole
   * recording's. Oldest first; the oldest go beyond RECORDING_MAX_DETACHED_PARTS.
   */
  detachedParts: z.array(z.object({ recordingId: uuidSchema, note: z.string().max(300) })).max(RECORDING_MAX_DETACHED_PARTS).optional(),
});
export type RecordingState = z.infer<typeof recordingStateSchema>;

export const meetingStateSchema = z.object({
  title: z.string(),
  /** A webinar's audience joins as attendees (schema/wire/http.ts meetingModeSchema). */
  mode: z.enum(['meeting', 'webinar']),
  locked: z.boolean(),
  recording: recordingStateSchema,
  ended: z.boolean(),
  /**
   * Whether someone the host muted may unmute themselves. Off: the media node refuses to resume
   * (or replace) what the host muted until the host turns it back on.
   */
  participantsMayUnmute: z.boolean(),
});

/** Why a participant left the room (the `participant.left` message). */
export const leaveReasonSchema = z.enum(['left', 'removed', 'disconnected', 'ended']);
export type LeaveReason = z.infer<typeof leaveReasonSchema>;

const client = <T extends string, D extends z.ZodRawShape>(type: T, shape: D) =>
  z.object({ type: z.literal(type), ...shape, ref: z.string().max(64).optional() });

export const roomClientMessageSchema = z.discriminatedUnion('type', [
  client('chat.send', { text: z.string().trim().min(1).max(CHAT_MAX_LENGTH) }),
  client('hand.set', { raised: z.boolean() }),
  client('host.remove', { participantId: participantIdSchema }),
  client('host.mute', { participantId: participantIdSchema, kind: mediaKindSchema.optional() }),
  /** `attendee`: back to a webinar's audience (webinars only); `participant` from there: invited to speak. */
  client('host.setRole', { participantId: participantIdSchema, role: z.enum(['cohost', 'participant', 'attendee']) }),
  client('host.admit', { participantId: participantIdSchema }),
  client('host.deny', { participantId: participantIdSchema }),
  client('host.lock', { locked: z.boolean() }),
  /** Moderators: lower someone's raised hand (answered, or taken care of). */
  client('host.lowerHand', { participantId: participantIdSchema }),
  client('host.end', {}),
  /** Moderators: may people the host muted unmute themselves (the node enforces "no"). */
  client('host.allowUnmute', { allowed: z.boolean() }),
  client('recording.start', {}),
  client('recording.stop', {}),
  /** Ask for a fresh media token (before expiry, or after a node change). */
  client('media.refresh', {}),
  client('ping', {}),
]);
export type RoomClientMessage = z.infer<typeof roomClientMessageSchema>;

const server = <T extends string, D extends z.ZodRawShape>(type: T, shape: D) => z.object({ type: z.literal(type), ...shape });

export const roomServerMessageSchema = z.discriminatedUnion('type', [
  /** First message after connecting (also after admission from the waiting room). */
  server('welcome', {
    self: participantViewSchema,
    participants: z.array(participantViewSchema),
    waiting: z.array(waitingParticipantSchema),
    chat: z.array(chatMessageSchema),
    meeting: meetingStateSchema,
    media: mediaAssignmentSchema.nullable(),
  }),
  /** Sent to a participant still in the waiting room. */
  server('waiting', { position: z.number().int().nonnegative() }),
  server('admitted', {}),
  server('participant.joined', { participant: participantViewSchema }),
  server('participant.left', { participantId: participantIdSchema, reason: leaveReasonSchema }),
  server('participant.updated', { participant: participantViewSchema }),
  server('waiting.updated', { waiting: z.array(waitingParticipantSchema) }),
  server('chat.message', { message: chatMessageSchema }),
  server('meeting.updated', { meeting: meetingStateSchema }),
  server('media.assignment', { media: mediaAssignmentSchema }),
  /** You were muted by a host (the node pauses your producers too). */
  server('muted', { kind: mediaKindSchema.nullable(), by: participantIdSchema }),
  /** You are out: removed, denied, or the meeting ended. The socket closes after this. */
  server('closed', { code: errorCodeSchema, reason: z.string() }),
  /** With RATE_LIMITED: how long to wait before sending that kind of message again. */
  server('error', { code: errorCodeSchema, message: z.string(), ref: z.string().optional(), retryAfterMs: z.number().int().nonnegative().optional() }),
  server('ack', { ref: z.string() }),
  server('pong', { at: z.number().int() }),
]);
export type RoomServerMessage = z.infer<typeof roomServerMessageSchema>;
