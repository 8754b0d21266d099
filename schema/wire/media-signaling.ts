import { z } from 'zod';
import { mediaKindSchema, mediaSourceSchema, meetingLinkIdSchema, participantIdSchema, displayNameSchema } from './common.js';
import { errorCodeSchema } from './errors.js';
import {
  dtlsParametersSchema,
  iceCandidateSchema,
  iceParametersSchema,
  rtpCapabilitiesSchema,
  rtpParametersSchema,
  sctpCapabilitiesSchema,
} from './mediasoup-shapes.js';

/**
 * Browser ↔ media node signaling, over one WebSocket per participant:
 *   wss://<node>/ws   then, as the first frame, `authenticate` (below) with the media token
 * (a token in the URL, `/ws?token=…`, is refused: URLs end up in logs). The browser sends requests `{ id, method, data }`; the node answers each with
 * `{ id, ok: true, data }` or `{ id, ok: false, error: { code, message } }` (id null when the
 * request could not even be read), and pushes notifications `{ notification, data }`.
 */
const mediasoupId = z.string().min(1).max(64);
const requestId = z.number().int().nonnegative();

const request = <M extends string, D extends z.ZodType>(method: M, data: D) =>
  z.object({ id: requestId, method: z.literal(method), data });

/** Bounds of a receive-bitrate cap: below ~100 kbps not even the lowest camera layer fits. */
export const RECEIVE_BITRATE_MIN = 100_000;
export const RECEIVE_BITRATE_MAX = 100_000_000;

/** Most participants one may pin at once (a UI pins a handful). */
export const MAX_PINNED_PARTICIPANTS = 25;

export const transportDirectionSchema = z.enum(['send', 'recv']);

export const mediaRequestSchema = z.discriminatedUnion('method', [
  request('getRouterRtpCapabilities', z.object({})),
  /** Declares what the browser can receive; required before consuming. Triggers consumers for existing producers. */
  request('join', z.object({ rtpCapabilities: rtpCapabilitiesSchema })),
  request(
    'createTransport',
    z.object({ direction: transportDirectionSchema, sctpCapabilities: sctpCapabilitiesSchema.optional(), forceTcp: z.boolean().optional() }),
  ),
  request('connectTransport', z.object({ transportId: mediasoupId, dtlsParameters: dtlsParametersSchema })),
  request('restartIce', z.object({ transportId: mediasoupId })),
  request(
    'produce',
    z.object({
      transportId: mediasoupId,
      kind: mediaKindSchema,
      source: mediaSourceSchema,
      rtpParameters: rtpParametersSchema,
      paused: z.boolean().optional(),
    }),
  ),
  request('pauseProducer', z.object({ producerId: mediasoupId })),
  request('resumeProducer', z.object({ producerId: mediasoupId })),
  request('closeProducer', z.object({ producerId: mediasoupId })),
  request('resumeConsumer', z.object({ consumerId: mediasoupId })),
  request('pauseConsumer', z.object({ consumerId: mediasoupId })),
  request(
    'setConsumerPreferredLayers',
    z.object({
      consumerId: mediasoupId,
      spatialLayer: z.number().int().min(0).max(2),
      temporalLayer: z.number().int().min(0).max(2).optional(),
    }),
  ),
  /**
   * The most this participant wants to receive, in bps (0: no cap) — "low bandwidth mode". The
   * node caps its sending estimate for the participant's receive transport, so mediasoup picks
   * lower simulcast layers, exactly as when the participant's real bandwidth drops.
   */
  request('setReceiveBitrate', z.object({ maxBitrate: z.union([z.literal(0), z.number().int().min(RECEIVE_BITRATE_MIN).max(RECEIVE_BITRATE_MAX)]) })),
  request('getTransportStats', z.object({ transportId: mediasoupId })),
  /**
   * Top-N audio: the node forwards each participant the audio of the N loudest speakers only
   * (the others' audio consumers are paused by the node: no RTP, no `consumerPaused`, their
   * `producerPaused` unchanged). Pinned participants are heard too, loud or not. The list replaces
   * the previous one ([] unpins everyone).
   */
  request('setPinned', z.object({ participantIds: z.array(participantIdSchema).max(MAX_PINNED_PARTICIPANTS) })),
  request('leave', z.object({})),
]);
export type MediaRequest = z.infer<typeof mediaRequestSchema>;
export type MediaMethod = MediaRequest['method'];

/**
 * The first frame on every signaling socket: the media token (and, optionally, the
 * meeting the client means; a token for another one is refused). Answered `{ id, ok: true, data:
 * { participantId } }` (mediaAuthenticateAnswerSchema), after which requests are served; refused
 * with `{ id, ok: false, error }`, a `closed` notification and the code's close code. Requests sent
 * before the answer wait for it. Without it in time the node closes the socket (UNAUTHENTICATED).
 */
export const mediaAuthenticateSchema = request('authenticate', z.object({ token: z.string().min(1).max(4096), meeting: meetingLinkIdSchema.optional() }));
export type MediaAuthenticate = z.infer<typeof mediaAuthenticateSchema>;
export const mediaAuthenticateAnswerSchema = z.object({ participantId: participantIdSchema });

/** Only the envelope, to answer with the right id even when the body does not parse. */
export const mediaRequestEnvelopeSchema = z.looseObject({ id: requestId, method: z.string() });

export const transportInfoSchema = z.object({
  id: mediasoupId,
  iceParameters: iceParametersSchema,
  iceCandidates: z.array(iceCandidateSchema),
  dtlsParameters: dtlsParametersSchema,
  sctpParameters: z.looseObject({}).optional(),
});
export type TransportInfo = z.infer<typeof transportInfoSchema>;

export const consumerInfoSchema = z.object({
  consumerId: mediasoupId,
  producerId: mediasoupId,
  participantId: participantIdSchema,
  displayName: displayNameSchema,
  kind: mediaKindSchema,
  source: mediaSourceSchema,
  rtpParameters: rtpParametersSchema,
  producerPaused: z.boolean(),
  /**
   * More offers follow at once (a join into a room with media offers every consumer in one burst):
   * a browser may hold this one and negotiate the burst together, one round instead of one per offer.
   */
  more: z.boolean().optional(),
});
export type ConsumerInfo = z.infer<typeof consumerInfoSchema>;

/** What each method answers on success (`data`). */
export const mediaResponseDataSchemas = {
  getRouterRtpCapabilities: z.object({ rtpCapabilities: rtpCapabilitiesSchema }),
  join: z.object({ participantId: participantIdSchema }),
  createTransport: transportInfoSchema,
  connectTransport: z.object({}),
  restartIce: z.object({ iceParameters: iceParametersSchema }),
  produce: z.object({ producerId: mediasoupId }),
  pauseProducer: z.object({}),
  resumeProducer: z.object({}),
  closeProducer: z.object({}),
  resumeConsumer: z.object({}),
  pauseConsumer: z.object({}),
  setConsumerPreferredLayers: z.object({}),
  setReceiveBitrate: z.object({}),
  getTransportStats: z.object({ stats: z.array(z.looseObject({})) }),
  setPinned: z.object({}),
  leave: z.object({}),
} satisfies Record<MediaMethod, z.ZodType>;

export const mediaResponseSchema = z.union([
  z.object({ id: requestId, ok: z.literal(true), data: z.unknown() }),
  z.object({
    id: requestId.nullable(),
    ok: z.literal(false),
    error: z.object({ code: errorCodeSchema, message: z.string() }),
  }),
]);
export type MediaResponse = z.infer<typeof mediaResponseSchema>;

const notification = <N extends string, D extends z.ZodType>(name: N, data: D) =>
  z.object({ notification: z.literal(name), data });

export const mediaNotificationSchema = z.discriminatedUnion('notification', [
  /** A consumer was created for this participant; the browser creates it and then resumes it. */
  notification('newConsumer', consumerInfoSchema),
  notification('consumerClosed', z.object({ consumerId: mediasoupId })),
  notification('consumerPaused', z.object({ consumerId: mediasoupId })),
  notification('consumerResumed', z.object({ consumerId: mediasoupId })),
  notification(
    'consumerLayersChanged',
    z.object({ consumerId: mediasoupId, spatialLayer: z.number().int().nullable(), temporalLayer: z.number().int().nullable() }),
  ),
  /** The node's bandwidth estimate for this participant's receive transport. */
  notification('bandwidthEstimate', z.object({ transportId: mediasoupId, availableBitrate: z.number().nonnegative() })),
  notification('activeSpeaker', z.object({ participantId: participantIdSchema.nullable() })),
  /** A producer of this participant was paused/closed by the server (host mute, recording end, …). */
  notification('producerPaused', z.object({ producerId: mediasoupId, reason: z.string() })),
  notification('producerClosed', z.object({ producerId: mediasoupId, reason: z.string() })),
  /** The node is ending this participant's media session; the socket closes next. */
  notification('closed', z.object({ code: errorCodeSchema, reason: z.string() })),
]);
export type MediaNotification = z.infer<typeof mediaNotificationSchema>;
