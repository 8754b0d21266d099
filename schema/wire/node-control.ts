import { z } from 'zod';
import { regionIdSchema } from '../regions.js';
import { mediaKindSchema, meetingLinkIdSchema, nodeIdSchema, participantIdSchema, uuidSchema } from './common.js';
import { errorCodeSchema } from './errors.js';

/**
 * Media node ↔ edge control channel. The node opens one WebSocket to its region's RegionDO:
 *   wss://<edge>/api/nodes/connect?region=<region>   Authorization: Bearer <nodeId>.<node secret>
 * Up: hello (once), heartbeat (every 2 s), command results, events.
 * Down: welcome (once), commands.
 */
export const NODE_HEARTBEAT_INTERVAL_MS = 2_000;
export const NODE_HEARTBEAT_TIMEOUT_MS = 6_000;

export const nodeStateSchema = z.enum(['serving', 'draining']);
export type NodeState = z.infer<typeof nodeStateSchema>;

export const nodeLoadSchema = z.object({
  workersAlive: z.number().int().nonnegative(),
  workersTotal: z.number().int().nonnegative(),
  rooms: z.number().int().nonnegative(),
  participants: z.number().int().nonnegative(),
  transports: z.number().int().nonnegative(),
  producers: z.number().int().nonnegative(),
  consumers: z.number().int().nonnegative(),
  /** Consumers the node accepts in all (sum of per-worker budgets). */
  consumerCapacity: z.number().int().nonnegative(),
  /** CPU use of each worker process, 0..1 of one core. */
  cpuPerWorker: z.array(z.number().nonnegative()).max(512),
  bitrateInKbps: z.number().nonnegative(),
  bitrateOutKbps: z.number().nonnegative(),
  /** Receive-side packet loss over the last interval, 0..1. */
  packetLoss: z.number().min(0).max(1),
  recordings: z.number().int().nonnegative(),
});
export type NodeLoad = z.infer<typeof nodeLoadSchema>;

export const nodeIdentitySchema = z.object({
  nodeId: nodeIdSchema,
  region: regionIdSchema,
  /** Base URL browsers use for media signaling, e.g. wss://media-1.lon.example.com */
  signalingUrl: z.string().url().max(512),
  /** Address announced in ICE candidates, and the ports browsers must reach. */
  announcedAddress: z.string().max(255),
  rtcPorts: z.array(z.object({ protocol: z.enum(['udp', 'tcp']), port: z.number().int().min(1).max(65535) })).max(1024),
  version: z.string().max(64),
});
export type NodeIdentity = z.infer<typeof nodeIdentitySchema>;

/** The node a meeting's media runs on, as placement (RegionDO) hands it to the room. */
export const placedNodeSchema = z.object({
  nodeId: nodeIdSchema,
  region: regionIdSchema,
  signalingUrl: nodeIdentitySchema.shape.signalingUrl,
});
export type PlacedNode = z.infer<typeof placedNodeSchema>;

const up = <T extends string, D extends z.ZodRawShape>(type: T, shape: D) => z.object({ type: z.literal(type), ...shape });

export const recordingStatusSchema = z.enum(['recording', 'processing', 'uploading', 'ready', 'failed']);
export type RecordingStatus = z.infer<typeof recordingStatusSchema>;

export const recordingFileSchema = z.object({
  key: z.string().max(512),
  kind: z.enum(['composite', 'track']),
  contentType: z.string().max(128),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  participantId: participantIdSchema.optional(),
  mediaKind: mediaKindSchema.optional(),
});
export type RecordingFile = z.infer<typeof recordingFileSchema>;

export const nodeEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('participantLeft'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema, reason: z.string().max(200) }),
  z.object({ event: z.literal('roomClosed'), meetingId: meetingLinkIdSchema }),
  z.object({ event: z.literal('workerDied'), pid: z.number().int(), error: z.string().max(500) }),
  z.object({
    event: z.literal('recordingStatus'),
    meetingId: meetingLinkIdSchema,
    recordingId: uuidSchema,
    status: recordingStatusSchema,
    durationMs: z.number().int().nonnegative().optional(),
    files: z.array(recordingFileSchema).max(256).optional(),
    error: z.object({ code: errorCodeSchema, message: z.string().max(500) }).optional(),
    /**
     * With status 'failed' only: the files were stored and play, but the recording is not whole (a
     * track missing for part of it, capture trouble, a failed integrity check); `notes` say what.
     * Absent: failed as `error` says (any files it kept are listed). A 'ready' recording is whole.
     */
    incomplete: z.boolean().optional(),
    /** Host-facing notes on what is missing or went wrong (with 'failed'). */
    notes: z.array(z.string().max(300)).max(32).optional(),
  }),
]);
export type NodeEvent = z.infer<typeof nodeEventSchema>;

export const nodeUpMessageSchema = z.discriminatedUnion('type', [
  up('hello', { node: nodeIdentitySchema, state: nodeStateSchema, load: nodeLoadSchema }),
  up('heartbeat', { nodeId: nodeIdSchema, state: nodeStateSchema, load: nodeLoadSchema, sentAt: z.number().int() }),
  up('commandResult', {
    commandId: z.string().min(1).max(64),
    ok: z.boolean(),
    error: z.object({ code: errorCodeSchema, message: z.string().max(500) }).optional(),
  }),
  up('event', { event: nodeEventSchema }),
]);
export type NodeUpMessage = z.infer<typeof nodeUpMessageSchema>;

export const nodeCommandSchema = z.discriminatedUnion('command', [
  /** Close the participant's transports and refuse its tokens (by participant id) from now on. */
  z.object({ command: z.literal('closeParticipant'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema, reason: z.string().max(200) }),
  /** Pause the participant's producers of that kind (all kinds when omitted). */
  z.object({ command: z.literal('muteParticipant'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema, kind: mediaKindSchema.optional() }),
  z.object({ command: z.literal('closeMeeting'), meetingId: meetingLinkIdSchema, reason: z.string().max(200) }),
  /** Take no new meetings, keep current ones, exit when empty or at the deadline (epoch ms). */
  z.object({ command: z.literal('drain'), deadline: z.number().int().optional() }),
  z.object({ command: z.literal('startRecording'), meetingId: meetingLinkIdSchema, recordingId: uuidSchema }),
  z.object({ command: z.literal('stopRecording'), meetingId: meetingLinkIdSchema, recordingId: uuidSchema }),
]);
export type NodeCommand = z.infer<typeof nodeCommandSchema>;

export const nodeDownMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), heartbeatIntervalMs: z.number().int().positive() }),
  z.object({ type: z.literal('command'), commandId: z.string().min(1).max(64), command: nodeCommandSchema }),
  z.object({ type: z.literal('error'), code: errorCodeSchema, message: z.string() }),
]);
export type NodeDownMessage = z.infer<typeof nodeDownMessageSchema>;
