import { z } from 'zod';
import { regionIdSchema } from '../regions.js';
import { mediaKindSchema, mediaSourceSchema, meetingLinkIdSchema, nodeIdSchema, participantIdSchema, permissionSchema, uuidSchema } from './common.js';
import { rtpParametersSchema } from './mediasoup-shapes.js';
import { errorCodeSchema } from './errors.js';

/**
 * Media node ↔ edge control channel. The node opens one WebSocket to its region's RegionDO:
 *   wss://<edge>/api/nodes/connect?region=<region>   Authorization: Bearer <nodeId>.<node secret>
 * Up: hello (once), heartbeat (every NODE_HEARTBEAT_INTERVAL_MS), command results, events.
 * Down: welcome (once), commands.
 * A crash shows as the socket closing (the edge marks the node down at once); heartbeats catch a
 * node that hangs with its socket open (a silent partition) after three missed beats plus slack.
 */
export const NODE_HEARTBEAT_INTERVAL_MS = 1_000;
export const NODE_HEARTBEAT_TIMEOUT_MS = 4_000;

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
  /** Receive-side interarrival jitter (mean over the node's inbound streams), ms. */
  jitterMs: z.number().nonnegative().optional(),
  /** How late the node's own event loop ran (p99 over the last interval), ms. */
  eventLoopLagMs: z.number().nonnegative().optional(),
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

/**
 * Why placement gives a node no new rooms (several may hold at once): the edge wrote it off
 * ('down'), it is leaving ('draining'), its report is too old ('stale-heartbeat'), it has no live
 * workers ('no-workers'), or it is degraded past a threshold of the placement policy.
 */
export const nodeExclusionSchema = z.enum(['down', 'draining', 'stale-heartbeat', 'no-workers', 'full', 'cpu', 'loss', 'jitter', 'event-loop-lag']);
export type NodeExclusion = z.infer<typeof nodeExclusionSchema>;

const up = <T extends string, D extends z.ZodRawShape>(type: T, shape: D) => z.object({ type: z.literal(type), ...shape });

/*
 * Cascading (one meeting over several nodes): the RoomDO asks two nodes to open the two ends of
 * a mediasoup PipeTransport for a meeting (SRTP, RTX/NACK: the ends sit on different hosts),
 * connects each end to the other's answer, and relays a producer by consuming it on the sending
 * end and producing it, under the same producer id, on the receiving end. See docs/cascading.md.
 */
export const srtpParametersSchema = z.object({
  cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
  keyBase64: z.string().regex(/^[A-Za-z0-9+/]{16,128}={0,2}$/, 'not base64 key material'),
});
export type SrtpParametersWire = z.infer<typeof srtpParametersSchema>;

/** One node's end of a meeting's pipe: where the other end sends to, and the key it must use to read. */
export const pipeEndSchema = z.object({
  ip: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  srtpParameters: srtpParametersSchema,
});
export type PipeEnd = z.infer<typeof pipeEndSchema>;

/** A producer leaving its node over a pipe: what the receiving node needs to offer it as its own. */
export const relayedProducerSchema = z.object({
  producerId: uuidSchema,
  participantId: participantIdSchema,
  displayName: z.string().max(64),
  kind: mediaKindSchema,
  source: mediaSourceSchema,
  /** The sending pipe consumer's RTP parameters (mediasoup hands them verbatim to the pipe producer). */
  rtpParameters: rtpParametersSchema,
  paused: z.boolean(),
});
export type RelayedProducer = z.infer<typeof relayedProducerSchema>;

/** What a command answers besides ok/error (only cascade commands answer anything). */
export const nodeCommandDataSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pipeEnd'), pipe: pipeEndSchema }),
  z.object({ kind: z.literal('relayedProducer'), producer: relayedProducerSchema }),
]);
export type NodeCommandData = z.infer<typeof nodeCommandDataSchema>;

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
  /**
   * Track files: where the file's first packet lies on the recording's timeline, in ms from the
   * start of the window (the composite's time 0); negative when capture began before the window
   * opened. What an editor needs to line a participant's own track up with the composite.
   */
  offsetMs: z.number().int().min(-86_400_000).max(86_400_000).optional(),
});
export type RecordingFile = z.infer<typeof recordingFileSchema>;

export const nodeEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('participantLeft'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema, reason: z.string().max(200) }),
  z.object({ event: z.literal('roomClosed'), meetingId: meetingLinkIdSchema }),
  /** A participant the host had muted unmuted that kind themselves (the policy allowed it). */
  z.object({ event: z.literal('participantUnmuted'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema, kind: mediaKindSchema }),
  z.object({ event: z.literal('workerDied'), pid: z.number().int(), error: z.string().max(500) }),
  /*
   * The meeting's media graph, for cascading (docs/cascading.md): a participant connected to this
   * node (its part of the meeting is open), and the producers of participants connected here —
   * never copies relayed from another node. The RegionDO forwards them with the sender's node id.
   */
  z.object({ event: z.literal('participantJoined'), meetingId: meetingLinkIdSchema, participantId: participantIdSchema }),
  z.object({
    event: z.literal('producerOpened'),
    meetingId: meetingLinkIdSchema,
    producerId: uuidSchema,
    participantId: participantIdSchema,
    kind: mediaKindSchema,
    source: mediaSourceSchema,
    paused: z.boolean(),
  }),
  z.object({ event: z.literal('producerClosed'), meetingId: meetingLinkIdSchema, producerId: uuidSchema }),
  z.object({ event: z.literal('producerPaused'), meetingId: meetingLinkIdSchema, producerId: uuidSchema, paused: z.boolean() }),
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
    /** The node's name for this word, echoed in recordingStatusReceived (two words may share a status). */
    statusId: z.string().min(1).max(64).optional(),
  }),
]);
export type NodeEvent = z.infer<typeof nodeEventSchema>;

export const nodeUpMessageSchema = z.discriminatedUnion('type', [
  up('hello', {
    node: nodeIdentitySchema,
    state: nodeStateSchema,
    load: nodeLoadSchema,
    /**
     * Meetings the node holds rooms for. After a reconnect the edge answers closeMeeting for each one
     * that moved to another node meanwhile, so no meeting is served by two nodes.
     */
    meetings: z.array(meetingLinkIdSchema).max(10_000).optional(),
  }),
  up('heartbeat', { nodeId: nodeIdSchema, state: nodeStateSchema, load: nodeLoadSchema, sentAt: z.number().int() }),
  up('commandResult', {
    commandId: z.string().min(1).max(64),
    ok: z.boolean(),
    error: z.object({ code: errorCodeSchema, message: z.string().max(500) }).optional(),
    /** The command's answer, for the commands that have one (cascade: pipe ends, relayed producers). */
    data: nodeCommandDataSchema.optional(),
  }),
  up('event', { event: nodeEventSchema }),
]);
export type NodeUpMessage = z.infer<typeof nodeUpMessageSchema>;

export const nodeCommandSchema = z.discriminatedUnion('command', [
  /** Close the participant's transports and refuse its tokens (by participant id) from now on. */
  z.object({
    command: z.literal('closeParticipant'),
    meetingId: meetingLinkIdSchema,
    participantId: participantIdSchema,
    reason: z.string().max(200),
    /**
     * Set when the participant left the room rather than being removed (edge clock, ms): only
     * tokens issued before it are refused, so a return with a fresh token is served, and the
     * session closes as expired (the page reconnects through the room), not as removed. Without
     * it, every token of theirs is refused for a token's lifetime.
     */
    tokensIssuedBefore: z.number().int().nonnegative().optional(),
  }),
  /**
   * Host mute: pause the participant's producers of that kind (all kinds when omitted), and remember
   * the kind as muted by the host (also for a participant not connected yet). With
   * `participantsMayUnmute` (the meeting's policy, see setUnmutePolicy) the node also takes it as
   * the meeting's current policy.
   */
  z.object({
    command: z.literal('muteParticipant'),
    meetingId: meetingLinkIdSchema,
    participantId: participantIdSchema,
    kind: mediaKindSchema.optional(),
    participantsMayUnmute: z.boolean().optional(),
  }),
  /**
   * The meeting's unmute policy (default true). false: a participant may not resume or replace
   * (produce anew) a kind the host muted — resumeProducer/produce answer PERMISSION_DENIED. true:
   * they may; the first resume or produce of that kind clears it and the node sends the
   * `participantUnmuted` event.
   */
  z.object({ command: z.literal('setUnmutePolicy'), meetingId: meetingLinkIdSchema, participantsMayUnmute: z.boolean() }),
  /**
   * The participant's role changed (a webinar speaker sent back to the audience, a co-host made a
   * participant): their session here may do no more than `permissions` from now on — producers it
   * may no longer have close — and neither may a later session whose token was minted (iat) no
   * later than `changedAt` (edge clock, ms; absent: when the node got the command). A token minted
   * after it carries the new role itself: a node that missed a later change (it was not among the
   * meeting's nodes then) must not hold it. A later setPermissions replaces it.
   */
  z.object({
    command: z.literal('setPermissions'),
    meetingId: meetingLinkIdSchema,
    participantId: participantIdSchema,
    permissions: z.array(permissionSchema).max(4),
    changedAt: z.number().int().nonnegative().optional(),
  }),
  /**
   * The meeting ended (or moved away): close its room, and until MEDIA_TOKEN_TTL_SECONDS have passed
   * refuse every media token for it issued (iat) no later than this command — also when no room
   * for it is open here, so a token handed out before the end cannot open a new one.
   */
  /**
   * The meeting's room here closes. `why` 'moved' (it lives on elsewhere) closes its sockets with
   * MEETING_MOVED so clients reconnect through the room; absent or 'ended' with MEETING_ENDED.
   */
  z.object({
    command: z.literal('closeMeeting'),
    meetingId: meetingLinkIdSchema,
    reason: z.string().max(200),
    why: z.enum(['ended', 'moved']).optional(),
    /** When the edge closed it (epoch ms, the edge's clock): tokens issued up to then are refused, later ones (it moved back) are good. */
    closedAt: z.number().int().nonnegative().optional(),
  }),
  /** Take no new meetings, keep current ones, exit when empty or at the deadline (epoch ms). */
  z.object({ command: z.literal('drain'), deadline: z.number().int().optional() }),
  z.object({ command: z.literal('startRecording'), meetingId: meetingLinkIdSchema, recordingId: uuidSchema }),
  z.object({ command: z.literal('stopRecording'), meetingId: meetingLinkIdSchema, recordingId: uuidSchema }),
  /**
   * Cascading (docs/cascading.md). The meeting must have a room on the node (MEETING_NOT_FOUND
   * otherwise). Open the node's end of the meeting's pipe toward `peerNodeId` (the existing one when
   * open: answered again, not renewed); answers data 'pipeEnd'.
   */
  z.object({ command: z.literal('cascadeOpenPipe'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema }),
  /** Connect the end toward `peerNodeId` to the peer's end (its cascadeOpenPipe answer). Repeating it with the same end is a no-op. */
  z.object({ command: z.literal('cascadeConnectPipe'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema, remote: pipeEndSchema }),
  /**
   * Send a producer of this node (local or itself relayed here) down the pipe toward `peerNodeId`
   * (once per pipe: repeating answers the same); answers data 'relayedProducer' for the peer's
   * cascadeReceiveProducer.
   */
  z.object({ command: z.literal('cascadeSendProducer'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema, producerId: uuidSchema }),
  /**
   * Offer a producer arriving on the pipe from `peerNodeId` to this node's participants, under its
   * own id, like any remote participant's producer (once: repeating is a no-op).
   */
  z.object({ command: z.literal('cascadeReceiveProducer'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema, producer: relayedProducerSchema }),
  /**
   * Stop relaying a producer over the pipe with `peerNodeId`: on the receiving node its copy closes
   * (consumers get consumerClosed), on the sending node it stops being sent. No-op when not relayed.
   */
  z.object({ command: z.literal('cascadeCloseProducer'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema, producerId: uuidSchema }),
  /**
   * Mirror a pause/resume of a producer received from `peerNodeId` (its origin node paused or
   * resumed it), so this node's consumers of it are told.
   */
  z.object({ command: z.literal('cascadeSetProducerPaused'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema, producerId: uuidSchema, paused: z.boolean() }),
  /** Close the pipe with `peerNodeId` and everything relayed over it (no-op when none). Never closes the meeting. */
  z.object({ command: z.literal('cascadeClosePipe'), meetingId: meetingLinkIdSchema, peerNodeId: nodeIdSchema }),
]);
export type NodeCommand = z.infer<typeof nodeCommandSchema>;

export const nodeDownMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), heartbeatIntervalMs: z.number().int().positive() }),
  z.object({ type: z.literal('command'), commandId: z.string().min(1).max(64), command: nodeCommandSchema }),
  z.object({ type: z.literal('error'), code: errorCodeSchema, message: z.string() }),
  /**
   * The meeting's room has taken this recording status (it is in the room's storage, on its way to
   * history). Until then the node keeps the status and sends it again on every (re)connection: a
   * final one is its only word on the recording's files.
   */
  z.object({ type: z.literal('recordingStatusReceived'), recordingId: uuidSchema, status: recordingStatusSchema, statusId: z.string().min(1).max(64).optional() }),
]);
export type NodeDownMessage = z.infer<typeof nodeDownMessageSchema>;
