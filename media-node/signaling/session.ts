import type { WebSocket } from 'ws';
import {
  AppError,
  describeIssues,
  mediaRequestEnvelopeSchema,
  mediaRequestSchema,
  type ErrorCode,
  type MediaNotification,
  type MediaResponse,
} from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import type { ParticipantSink } from '../rooms/types.js';
import { closeCodeFor, notificationCodeFor, type DisconnectCode } from './close-codes.js';
import { handleRequest } from './request-handlers.js';

/** One browser's signaling WebSocket: parses requests, answers each, pushes notifications. */
export class SignalingSession implements ParticipantSink {
  private joined: { room: Room; participant: Participant } | undefined;
  private ended = false;
  /** Requests wait for the join (token check, room placement), then run in arrival order. */
  private chain: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly metrics: Metrics,
    private log: Log,
  ) {
    this.chain = new Promise((resolve) => (this.markReady = resolve));
    socket.on('message', (raw, isBinary) => {
      this.chain = this.chain.then(() => this.onMessage(isBinary ? null : raw.toString()));
    });
    socket.on('close', () => this.onSocketClosed());
    socket.on('error', () => undefined);
  }

  attach(room: Room, participant: Participant): void {
    this.joined = { room, participant };
    this.log = participant.log;
    this.markReady();
    if (this.ended || this.socket.readyState !== this.socket.OPEN) this.onSocketClosed();
  }

  notify(message: MediaNotification): void {
    this.send(message);
  }

  disconnect(code: DisconnectCode, reason: string): void {
    this.markReady();
    if (this.ended) return;
    this.ended = true;
    this.send({ notification: 'closed', data: { code: notificationCodeFor(code), reason } });
    this.socket.close(closeCodeFor(code), reason.slice(0, 120));
  }

  private send(message: MediaNotification | MediaResponse): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private answerError(id: number | null, code: ErrorCode, message: string): void {
    this.metrics.signalingErrors.inc({ code });
    this.send({ id, ok: false, error: { code, message } });
  }

  private async onMessage(text: string | null): Promise<void> {
    let json: unknown;
    try {
      json = text === null ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const envelope = mediaRequestEnvelopeSchema.safeParse(json);
    if (!envelope.success) return this.answerError(null, 'BAD_REQUEST', 'expected a JSON request { id, method, data }');
    const parsed = mediaRequestSchema.safeParse(json);
    if (!parsed.success) {
      const known = mediaRequestSchema.options.some((option) => option.shape.method.value === envelope.data.method);
      if (!known) return this.answerError(envelope.data.id, 'UNKNOWN_MESSAGE', `unknown method ${envelope.data.method.slice(0, 64)}`);
      return this.answerError(envelope.data.id, 'VALIDATION_FAILED', describeIssues(parsed.error));
    }
    const joined = this.joined;
    if (!joined || this.ended) return this.answerError(envelope.data.id, 'CONFLICT', 'the session is not joined');
    const request = parsed.data;
    try {
      const result = await handleRequest(request, joined.room, joined.participant, { leave: () => this.leave() });
      this.send({ id: request.id, ok: true, data: result.data });
      if (result.after) {
        // Not awaited in the request chain: consumer creation must not hold up later requests.
        void result.after().catch((error: unknown) => this.log.warn({ err: String(error), method: request.method }, 'follow-up failed'));
      }
    } catch (error) {
      if (error instanceof AppError) return this.answerError(request.id, error.code, error.message);
      // mediasoup rejects bad parameters with TypeError/Error; never leak its stack to the client.
      this.log.warn({ err: error instanceof Error ? error.message : String(error), method: request.method }, 'request failed');
      return this.answerError(request.id, 'MEDIA_ERROR', `${request.method} failed`);
    }
  }

  private leave(): void {
    if (this.joined) this.joined.room.removeParticipant(this.joined.participant, 'left', null);
    this.ended = true;
    this.socket.close(1000, 'left');
  }

  private onSocketClosed(): void {
    this.ended = true;
    const joined = this.joined;
    if (joined && !joined.participant.closed) joined.room.removeParticipant(joined.participant, 'disconnected', null);
  }
}
