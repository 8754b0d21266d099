import { DurableObject } from 'cloudflare:workers';
import { AppError } from '../../schema/wire/errors.js';
import { meetingSettingsSchema, type JoinResponse } from '../../schema/wire/http.js';
import { nodeEventSchema, type NodeEvent } from '../../schema/wire/node-control.js';
import { roomClientMessageSchema, type RoomClientMessage } from '../../schema/wire/room.js';
import { sha256Hex } from '../auth/encoding.js';
import type { Env } from '../env.js';
import { describeError, log } from '../http/log.js';
import { handleHostAction, requireModerator } from './host-actions.js';
import { participantView, type Participant } from './participants.js';
import { onRecordingStatus, startRecording, stopRecording } from './recording.js';
import { CONNECT_GRACE_MS, Room, type RoomJoinInput } from './room.js';
import { assertNever, parseSocketMessage, unionTypes, type RpcResult } from './socket-message.js';
import { RoomSockets } from './sockets.js';

const ROOM_MESSAGE_TYPES = unionTypes(roomClientMessageSchema);

/**
 * One per meeting (idFromName(linkId)): participants, waiting room, chat, host actions, recording
 * state and the meeting's media node, in its own SQLite storage. Browsers hold a hibernatable
 * WebSocket here; history leaves through the outbox (edge/room/outbox.ts).
 */
export class RoomDO extends DurableObject<Env> {
  /** The room's parts; a field so tests can reach the outbox's queue seam. */
  readonly room: Room;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.room = new Room(ctx, env);
  }

  // ── RPC from the Worker ───────────────────────────────────────────────────────────────────

  /** Meetings CRUD: the meeting's settings (newest version wins); endedAt set → ends it. */
  async configure(settings: unknown): Promise<void> {
    const parsed = meetingSettingsSchema.parse(settings);
    this.room.ensureTables();
    this.room.meeting.configure(parsed);
    if (parsed.endedAt !== null) await this.room.end('meeting ended');
    else this.room.broadcastMeeting();
  }

  /** The host ended the meeting through the HTTP API. */
  async end(): Promise<void> {
    if (this.room.configured) await this.room.end('ended by host');
  }

  async join(input: RoomJoinInput): Promise<RpcResult<JoinResponse>> {
    return asResult(() => this.room.join(input));
  }

  /** Events from the meeting's media node, forwarded by its RegionDO. */
  async onNodeEvent(event: NodeEvent): Promise<void> {
    const parsed = nodeEventSchema.parse(event);
    if (!this.room.configured) return;
    switch (parsed.event) {
      case 'recordingStatus':
        return onRecordingStatus(this.room, parsed);
      case 'participantLeft':
      case 'roomClosed':
        // Room membership follows the room socket; the node's view is informational here.
        log('info', 'room.node_event', { event: parsed.event, meetingId: parsed.meetingId });
        return;
      case 'workerDied':
        return;
      default:
        return assertNever(parsed);
    }
  }

  /** The RegionDO marked this meeting's node down. */
  async onNodeLost(nodeId: string): Promise<void> {
    if (this.room.configured) await this.room.onNodeLost(nodeId);
  }

  // ── room sockets ──────────────────────────────────────────────────────────────────────────

  /** GET /api/meetings/:linkId/ws?session=… forwarded by edge/routes/join.ts. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    const session = new URL(request.url).searchParams.get('session') ?? '';
    const participant = this.room.configured ? this.room.participants.bySession(await sha256Hex(session)) : null;
    const refusal = this.refusalFor(participant);
    if (refusal || !participant) return refuseSocket(this.room.sockets, refusal ?? new AppError('TOKEN_INVALID', 'unknown room session; join again'));
    // A newer connection of the same participant replaces the older one.
    this.room.sockets.closeParticipant(participant.participantId, 'CONFLICT', 'replaced by a newer connection');

    if (participant.status === 'waiting') {
      const { client, server } = this.room.sockets.accept(participant.participantId, false);
      const position = this.room.participants.withStatus('waiting').findIndex((p) => p.participantId === participant.participantId);
      this.room.sockets.send(server, { type: 'waiting', position: Math.max(0, position) });
      return new Response(null, { status: 101, webSocket: client });
    }

    let present = participant;
    if (participant.status === 'left') {
      // Back after a dropped connection: in again (lock and waiting room do not apply; they were in).
      if (participant.role !== 'host') {
        try {
          this.room.checkCapacity();
        } catch (error) {
          return refuseSocket(this.room.sockets, error as AppError);
        }
      }
      const now = Date.now();
      present = await this.room.change(() => {
        this.room.participants.setStatus(participant.participantId, 'joined', now);
        const back = this.room.participants.get(participant.participantId)!;
        this.room.recordJoined(back, now);
        return back;
      });
      await this.room.timers.clearIfSet('release');
      this.room.sockets.broadcast({ type: 'participant.joined', participant: participantView(present) });
    }
    const { client, server } = this.room.sockets.accept(participant.participantId, true);
    await this.room.welcome(server, present);
    return new Response(null, { status: 101, webSocket: client });
  }

  private refusalFor(participant: Participant | null): AppError | null {
    if (!participant) return new AppError('TOKEN_INVALID', 'unknown room session; join again');
    if (this.room.meeting.ended()) return new AppError('MEETING_ENDED', 'this meeting has ended');
    switch (participant.status) {
      case 'removed':
        return new AppError('REMOVED_BY_HOST', 'the host removed you from this meeting');
      case 'denied':
        return new AppError('ADMISSION_DENIED', 'the host did not let you in');
      case 'left':
        return participant.wasAdmitted ? null : new AppError('TOKEN_INVALID', 'this session has expired; join again');
      case 'waiting':
      case 'joined':
        return null;
      default:
        return assertNever(participant.status);
    }
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const attachment = RoomSockets.attachment(ws);
    if (!attachment) return;
    const parsed = parseSocketMessage(roomClientMessageSchema, ROOM_MESSAGE_TYPES, frame);
    if (!parsed.ok) return this.room.sendError(ws, parsed.code, parsed.message, parsed.ref);
    const message = parsed.message;
    const actor = this.room.participants.get(attachment.participantId);
    if (!actor || (actor.status !== 'joined' && actor.status !== 'waiting')) return;
    try {
      if (actor.status === 'waiting' && message.type !== 'ping') throw new AppError('FORBIDDEN', 'you are in the waiting room; wait for the host');
      await this.handle(ws, actor, message);
      if (message.ref) this.room.sockets.send(ws, { type: 'ack', ref: message.ref });
    } catch (error) {
      if (error instanceof AppError) return this.room.sendError(ws, error.code, error.message, message.ref);
      log('error', 'room.message_failed', { type: message.type, error: describeError(error) });
      this.room.sendError(ws, 'INTERNAL', 'something went wrong; try again', message.ref);
    }
  }

  private async handle(ws: WebSocket, actor: Participant, message: RoomClientMessage): Promise<void> {
    switch (message.type) {
      case 'chat.send':
        return this.sendChat(actor, message.text);
      case 'hand.set':
        await this.room.change(() => {
          this.room.participants.setHand(actor.participantId, message.raised);
          if (message.raised) this.room.record({ kind: 'analytics', event: 'hand_raised', participantId: actor.participantId, props: {} });
        });
        this.room.broadcastParticipant(actor.participantId);
        return;
      case 'host.remove':
      case 'host.mute':
      case 'host.setRole':
      case 'host.admit':
      case 'host.deny':
      case 'host.lock':
      case 'host.end':
        return handleHostAction(this.room, actor, message);
      case 'recording.start':
        requireModerator(actor);
        return startRecording(this.room, actor.participantId);
      case 'recording.stop':
        requireModerator(actor);
        return stopRecording(this.room, actor.participantId);
      case 'media.refresh': {
        await this.room.confirmAssignment();
        const node = await this.room.ensureAssignment([]);
        this.room.sockets.send(ws, { type: 'media.assignment', media: await this.room.mediaFor(actor, node) });
        return;
      }
      case 'ping':
        this.room.sockets.send(ws, { type: 'pong', at: Date.now() });
        return;
      default:
        return assertNever(message);
    }
  }

  private async sendChat(actor: Participant, text: string): Promise<void> {
    const now = Date.now();
    if (!this.room.chatLimiter.take(actor.participantId, now)) throw new AppError('RATE_LIMITED', 'you are sending messages too fast; wait a moment');
    const message = { messageId: crypto.randomUUID(), participantId: actor.participantId, displayName: actor.displayName, text, sentAt: now };
    await this.room.change(() => {
      this.room.chat.append(message);
      this.room.record({ kind: 'message', messageId: message.messageId, participantId: actor.participantId, userId: actor.userId, displayName: actor.displayName, text: message.text }, now);
      this.room.record({ kind: 'analytics', event: 'message_sent', participantId: actor.participantId, props: { length: message.text.length } }, now);
    });
    this.room.sockets.broadcast({ type: 'chat.message', message });
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Complete the closing handshake, or the client's socket lingers in CLOSING for many seconds.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // already closed
    }
    await this.socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.socketGone(ws);
  }

  /** A joined participant's last socket closed: they left (a reconnect with the session brings them back). */
  private async socketGone(ws: WebSocket): Promise<void> {
    const attachment = RoomSockets.attachment(ws);
    if (!attachment) return;
    ws.serializeAttachment(null);
    const stillConnected = this.room.sockets.of(attachment.participantId).some((other) => other !== ws && RoomSockets.attachment(other));
    if (stillConnected) return;
    const participant = this.room.participants.get(attachment.participantId);
    if (participant?.status === 'joined') await this.room.leave(participant, 'left');
    // Waiting participants keep their place for a while; the presence alarm lets them go.
    else if (participant?.status === 'waiting') await this.room.timers.set('presence', Date.now() + CONNECT_GRACE_MS, true);
  }

  // ── alarm: outbox retry, node release, presence ───────────────────────────────────────────

  override async alarm(): Promise<void> {
    if (!this.room.configured) return;
    const now = Date.now();
    this.room.timers.alarmFired();
    const due = this.room.timers.takeDue(now);
    // Any wake-up is a chance to send pending history, due or not.
    if (this.room.outbox.pending() > 0) await this.room.flushOutbox();
    for (const timer of due) {
      switch (timer) {
        case 'outbox':
          break;
        case 'release':
          if (this.room.participants.count('joined') === 0) await this.room.releaseNode();
          break;
        case 'presence':
          await this.room.prunePresence(now);
          break;
        default:
          assertNever(timer);
      }
    }
    await this.room.timers.arm();
  }
}

async function asResult<T>(work: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}

/** Accepts the upgrade only to say why it is refused (browsers cannot read a failed upgrade). */
function refuseSocket(sockets: RoomSockets, error: AppError): Response {
  const pair = new WebSocketPair();
  pair[1].accept();
  sockets.closeSocket(pair[1], error.code, error.message);
  return new Response(null, { status: 101, webSocket: pair[0] });
}
