import type { WebSocket } from 'ws';
import { z } from 'zod';
import {
  AppError,
  describeIssues,
  mediaAuthenticateSchema,
  mediaRequestEnvelopeSchema,
  mediaRequestSchema,
  type ErrorCode,
  type MediaAuthenticate,
  type MediaMethod,
  type MediaNotification,
  type MediaResponse,
  wsCloseCodeOf,
} from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import { SerialQueue } from '../rooms/serial-queue.js';
import type { ParticipantSink } from '../rooms/types.js';
import { handleRequest } from './request-handlers.js';
import type { TokenBucket } from './request-throttle.js';

/** The one request metered differently: the client's answer to a consumer the node offered. */
const resumeConsumerSchema = z.object({ method: z.literal('resumeConsumer'), data: z.object({ consumerId: z.string() }) });
/**
 * Requests about consumers the node offered. They have a queue of their own, in order among
 * themselves, so a joiner's resume of the camera it was just offered does not wait behind its own
 * produce requests (it did: 100–200 ms of a later joiner's first frame, npm run bench:ttff -- --marks).
 */
const CONSUMER_METHODS: ReadonlySet<string> = new Set(['resumeConsumer', 'pauseConsumer', 'setConsumerPreferredLayers'] satisfies MediaMethod[]);
/** Answers later than this are logged with where the time went (queue or handling). */
const SLOW_REQUEST_MS = 150;

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One browser's signaling WebSocket: parses requests, answers each, pushes notifications. */
export class SignalingSession implements ParticipantSink {
  private joined: { room: Room; participant: Participant } | undefined;
  private ended = false;
  /** Requests run one at a time, in arrival order; those about consumers in their own such queue. */
  private readonly requests = new SerialQueue();
  private readonly consumerRequests = new SerialQueue();
  /** The participant's request bucket (kept over reconnects), known once the token is checked. */
  private bucket: TokenBucket | undefined;
  /** Frames that arrived while the token was checked; metered against the bucket at the join. */
  private readonly early: unknown[] = [];
  /**
   * Consumers offered and not resumed yet. Their first `resumeConsumer` is part of the offer and
   * costs no request token, so joining a large meeting (hundreds of consumers) is not throttled.
   */
  private readonly offeredConsumers = new Set<string>();
  private throttled = false;
  /** Set while the session waits for its first frame, `authenticate` (the one way to present a token). */
  private authentication: { timer: NodeJS.Timeout; onAuthenticate: (request: MediaAuthenticate) => void } | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly metrics: Metrics,
    private log: Log,
    /** How many frames may wait for the join; more are answered RATE_LIMITED at once. */
    private readonly earlyLimit: number,
  ) {
    socket.on('message', (raw, isBinary) => this.onFrame(parseJson(isBinary ? null : raw.toString())));
    socket.on('close', () => this.onSocketClosed());
    socket.on('error', () => undefined);
  }

  /**
   * The token comes in the first frame, an `authenticate` request, handed to `onAuthenticate`;
   * any other first frame, or none within `timeoutMs`, ends the session (UNAUTHENTICATED).
   */
  awaitAuthentication(timeoutMs: number, onAuthenticate: (request: MediaAuthenticate) => void): void {
    const timer = setTimeout(() => this.refuse('UNAUTHENTICATED', 'no authenticate message in time', null), timeoutMs);
    this.authentication = { timer, onAuthenticate };
  }

  /**
   * The session now speaks for `participant`; `bucket` is its request bucket (kept over
   * reconnects). `answerTo`: the id of the `authenticate` request, answered before anything else.
   */
  attach(room: Room, participant: Participant, bucket: TokenBucket, answerTo: number): void {
    this.bucket = bucket;
    this.joined = { room, participant };
    this.log = participant.log;
    if (this.ended || this.socket.readyState !== this.socket.OPEN) return this.onSocketClosed();
    this.send({ id: answerTo, ok: true, data: { participantId: participant.id } });
    for (const json of this.early.splice(0)) this.meter(json, bucket);
  }

  /** Refuses the connection: answers the `authenticate` request (when there was one), then closes. */
  refuse(code: ErrorCode, message: string, answerTo: number | null): void {
    this.stopWaitingForAuthentication();
    if (answerTo !== null && !this.ended) this.answerError(answerTo, code, message);
    this.disconnect(code, message);
  }

  get open(): boolean {
    return !this.ended && this.socket.readyState === this.socket.OPEN;
  }

  notify(message: MediaNotification): void {
    if (message.notification === 'newConsumer') this.offeredConsumers.add(message.data.consumerId);
    if (message.notification === 'consumerClosed') this.offeredConsumers.delete(message.data.consumerId);
    this.send(message);
  }

  disconnect(code: ErrorCode, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.send({ notification: 'closed', data: { code, reason } });
    this.socket.close(wsCloseCodeOf(code), reason.slice(0, 120));
  }

  private send(message: MediaNotification | MediaResponse): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private answerError(id: number | null, code: ErrorCode, message: string): void {
    this.metrics.signalingErrors.inc({ code });
    this.send({ id, ok: false, error: { code, message } });
  }

  /**
   * Meters every frame as it arrives: a flood is answered RATE_LIMITED at once and never queues
   * behind (or ahead of) real work, nor holds memory.
   */
  private onFrame(json: unknown): void {
    if (this.bucket) return this.meter(json, this.bucket);
    if (this.authentication) return this.authenticate(json, this.authentication.onAuthenticate);
    if (this.early.length < this.earlyLimit) this.early.push(json);
    else this.answerRateLimited(json);
  }

  /** The first frame of a session without a token in its URL: it must be `authenticate`. */
  private authenticate(json: unknown, onAuthenticate: (request: MediaAuthenticate) => void): void {
    this.stopWaitingForAuthentication();
    const envelope = mediaRequestEnvelopeSchema.safeParse(json);
    const id = envelope.success ? envelope.data.id : null;
    const request = mediaAuthenticateSchema.safeParse(json);
    if (!request.success) return this.refuse('UNAUTHENTICATED', 'the first message must be authenticate { token }', id);
    onAuthenticate(request.data);
  }

  private stopWaitingForAuthentication(): void {
    if (this.authentication) clearTimeout(this.authentication.timer);
    this.authentication = undefined;
  }

  private meter(json: unknown, bucket: TokenBucket): void {
    const method = mediaRequestEnvelopeSchema.safeParse(json).data?.method;
    if (!this.resumesOfferedConsumer(json, method) && !bucket.take()) return this.answerRateLimited(json);
    const arrived = performance.now();
    const queue = method !== undefined && CONSUMER_METHODS.has(method) ? this.consumerRequests : this.requests;
    void queue.run(() => this.onMessage(json, arrived));
  }

  /** True (once) for the first `resumeConsumer` of a consumer the node offered. */
  private resumesOfferedConsumer(json: unknown, method: string | undefined): boolean {
    if (method !== 'resumeConsumer') return false;
    const resume = resumeConsumerSchema.safeParse(json);
    return resume.success && this.offeredConsumers.delete(resume.data.data.consumerId);
  }

  private answerRateLimited(json: unknown): void {
    if (!this.throttled) this.log.warn('signaling requests throttled');
    this.throttled = true;
    const envelope = mediaRequestEnvelopeSchema.safeParse(json);
    this.answerError(envelope.success ? envelope.data.id : null, 'RATE_LIMITED', 'too many requests: slow down');
  }

  private async onMessage(json: unknown, arrived: number): Promise<void> {
    const envelope = mediaRequestEnvelopeSchema.safeParse(json);
    if (!envelope.success) return this.answerError(null, 'BAD_REQUEST', 'expected a JSON request { id, method, data }');
    if (envelope.data.method === mediaAuthenticateSchema.shape.method.value) {
      return this.answerError(envelope.data.id, 'CONFLICT', 'this session is authenticated already');
    }
    const parsed = mediaRequestSchema.safeParse(json);
    if (!parsed.success) {
      const known = mediaRequestSchema.options.some((option) => option.shape.method.value === envelope.data.method);
      // Nothing the client sent is echoed back (it may hold bidi controls or markup).
      if (!known) return this.answerError(envelope.data.id, 'UNKNOWN_MESSAGE', 'unknown method');
      return this.answerError(envelope.data.id, 'VALIDATION_FAILED', describeIssues(parsed.error));
    }
    const joined = this.joined;
    if (!joined || this.ended) return this.answerError(envelope.data.id, 'CONFLICT', 'the session is not joined');
    const request = parsed.data;
    try {
      const started = performance.now();
      const result = await handleRequest(request, joined.room, joined.participant, { leave: () => this.leave() });
      this.send({ id: request.id, ok: true, data: result.data });
      this.noteIfSlow(request.method, arrived, started);
      if (result.after && !this.ended) {
        // Not awaited in the request chain: consumer creation must not hold up later requests.
        void result.after().catch((error: unknown) => this.log.warn('follow-up failed', { err: String(error), method: request.method }));
      }
    } catch (error) {
      if (error instanceof AppError) return this.answerError(request.id, error.code, error.message);
      // mediasoup rejects bad parameters with TypeError/Error; never leak its stack to the client.
      this.log.warn('request failed', { err: error instanceof Error ? error.message : String(error), method: request.method });
      return this.answerError(request.id, 'MEDIA_ERROR', `${request.method} failed`);
    }
  }

  /** A request answered late: how long it queued behind this session's earlier ones, and how long it took itself. */
  private noteIfSlow(method: string, arrived: number, started: number): void {
    const now = performance.now();
    if (now - arrived < SLOW_REQUEST_MS) return;
    this.log.warn('signaling request slow', { method, queuedMs: Math.round(started - arrived), handledMs: Math.round(now - started) });
  }

  private leave(): void {
    if (this.joined) this.joined.room.removeParticipant(this.joined.participant, 'left', null);
    this.ended = true;
    this.socket.close(1000, 'left');
  }

  private onSocketClosed(): void {
    this.stopWaitingForAuthentication();
    this.ended = true;
    const joined = this.joined;
    if (joined && !joined.participant.closed) joined.room.removeParticipant(joined.participant, 'disconnected', null);
  }
}
