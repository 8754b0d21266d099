import { DurableObject } from 'cloudflare:workers';
import { assertNever } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import { meetingSettingsSchema, type JoinResponse, type MeetingPublic } from '../../schema/wire/http.js';
import { nodeEventSchema, type NodeEvent } from '../../schema/wire/node-control.js';
import { roomClientMessageSchema, type RoomClientMessage } from '../../schema/wire/room.js';
import { parseSocketMessage, unionTypes, type RpcResult } from '../../schema/wire/socket-frame.js';
import { RetryLaterError } from '../http/errors.js';
import { describeError, log } from '../http/log.js';
import { join, type RoomJoinInput } from './admission.js';
import { sendChat } from './chat.js';
import { MeetingCascade, nodeRefSchema, type NodeRef } from './cascade.js';
import { MeetingSpread } from './media-spread.js';
import { ParticipantLocations } from './participant-locations.js';
import { ParticipantNodes } from './participant-nodes.js';
import { connectSocket } from './connect.js';
import { end, prunePresence, socketGone } from './departure.js';
import { admitEveryoneWaiting, handleHostAction, requireModerator } from './host-actions.js';
import { handOverHost, returnHostToOwner } from './host-handover.js';
import { RELEASE_TIMER, REPLACE_TIMER, RoomMedia } from './media.js';
import { messageClassOf, type MessageClass } from './message-limits.js';
import { onParticipantUnmuted, replayHostMutes } from './mute.js';
import { HOST_HANDOVER_TIMER, type Participant } from './participants.js';
import { LET_GO_TIMER, letGoDue } from './media-let-go.js';
import { PRESENCE_TIMER } from './presence.js';
import { isRecordingDeadline, onRecordingDeadline, onRecordingStatus, startRecording, stopRecording } from './recording.js';
import { OUTBOX_TIMER, Room } from './room.js';
import { RoomSockets } from './sockets.js';

const ROOM_MESSAGE_TYPES = unionTypes(roomClientMessageSchema);

/**
 * One per meeting (roomStub(env, linkId)): participants, waiting room, chat, host actions,
 * recording state and the meeting's media node, in its own SQLite storage. Browsers hold a
 * hibernatable WebSocket here; history leaves through the outbox (edge/room/outbox.ts).
 * This class only routes: each concern lives in its own module (admission, connect, departure,
 * host-actions, media, chat, recording) over the room's state (room.ts).
 */
export class RoomDO extends DurableObject<Env> {
  /** The room's state; a field so tests can reach the outbox's queue seam. */
  readonly room: Room;
  readonly media: RoomMedia;
  /** The meeting's media over several nodes: pipes and relays (cascade.ts). */
  readonly cascade: MeetingCascade;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.room = new Room(ctx, env.HISTORY);
    this.cascade = new MeetingCascade(
      ctx,
      env,
      () => this.room.linkId(),
      () => this.room.meeting.assignment()?.nodeId ?? null,
    );
    const spread = new MeetingSpread(this.room, env, this.cascade, new ParticipantNodes(ctx.storage.sql), new ParticipantLocations(ctx.storage.sql));
    this.media = new RoomMedia(this.room, env, () => replayHostMutes(this.room, this.media), spread);
  }

  // ── RPC from the Worker ───────────────────────────────────────────────────────────────────

  /** Meetings CRUD: the meeting's settings (newest version wins); endedAt set → ends it. */
  async configure(settings: unknown): Promise<void> {
    const parsed = meetingSettingsSchema.parse(settings);
    this.room.ensureTables();
    const hadWaitingRoom = this.room.configured && this.room.meeting.settings()?.waitingRoom === true;
    this.room.meeting.configure(parsed);
    if (parsed.endedAt !== null) return end(this.room, this.media, 'meeting ended');
    this.room.broadcastMeeting();
    if (hadWaitingRoom && !this.room.meeting.settings()?.waitingRoom) await admitEveryoneWaiting(this.room, this.media);
  }

  /**
   * The pre-join page's view of this meeting, from the room's own state — so an end made in the
   * room shows at once, and no Postgres is asked. Null when the room was never configured
   * (nothing is created for unknown links).
   */
  async publicView(): Promise<{ view: MeetingPublic; hostUserId: string } | null> {
    const settings = this.room.configured ? this.room.meeting.settings() : null;
    if (!settings) return null;
    const ended = settings.endedAt !== null || this.room.meeting.ended();
    const view: MeetingPublic = {
      linkId: settings.linkId,
      title: settings.title,
      hostName: settings.hostName,
      scheduledStart: settings.scheduledStart,
      needsPasscode: settings.passcode !== null,
      allowGuests: settings.allowGuests,
      mode: settings.mode,
      waitingRoom: settings.waitingRoom,
      status: ended ? 'ended' : this.room.meeting.wentLive() ? 'live' : 'scheduled',
    };
    return { view, hostUserId: settings.hostUserId };
  }

  /** The host ended the meeting through the HTTP API. */
  async end(): Promise<void> {
    if (this.room.configured) await end(this.room, this.media, 'ended by host');
  }

  async join(input: RoomJoinInput): Promise<RoomRpcResult<JoinResponse> | FullMeetingRefusal> {
    const result = await asResult(() => join(this.room, this.media, input));
    if (result.ok && result.value.role === 'host') await returnHostToOwner(this.room, this.media);
    if (result.ok || result.code !== 'MEETING_FULL' || !this.room.configured) return result;
    // Whom a full meeting still lets in, so the edge can refuse everyone else without asking here.
    return { ...result, code: 'MEETING_FULL', hostUserId: this.room.openSettings().hostUserId };
  }

  /**
   * Events from the meeting's media nodes, forwarded by their RegionDO with the sender (`from`).
   * Cascade events are queued (MeetingCascade) and answered at once: their work asks nodes
   * through the RegionDO that is waiting for this answer.
   */
  async onNodeEvent(event: NodeEvent, from?: NodeRef): Promise<void> {
    const parsed = nodeEventSchema.parse(event);
    if (!this.room.configured) return;
    switch (parsed.event) {
      case 'participantJoined':
      case 'producerOpened':
      case 'producerClosed':
      case 'producerPaused':
        if (from && !this.room.meeting.ended()) void this.cascade.onEvent(parsed, nodeRefSchema.parse(from));
        return;
      case 'recordingStatus':
        return onRecordingStatus(this.room, this.env.FILES, parsed);
      case 'participantUnmuted':
        return onParticipantUnmuted(this.room, parsed);
      case 'roomClosed':
        // That node's part of the meeting closed (its last local participant left), never the
        // meeting: its pipes close and what it relayed is relayed again (docs/cascading.md).
        log('info', 'room.node_event', { event: parsed.event, meetingId: parsed.meetingId });
        if (from) void this.cascade.onEvent(parsed, nodeRefSchema.parse(from));
        return;
      case 'participantLeft':
        // Room membership follows the room socket; the node's view only tells that the media of
        // someone out of the room is gone already (nothing to let go: media-let-go.ts).
        log('info', 'room.node_event', { event: parsed.event, meetingId: parsed.meetingId });
        if (this.room.participants.get(parsed.participantId)?.status !== 'joined') this.room.letGo.cancel(parsed.participantId);
        return;
      case 'workerDied':
        return;
      default:
        return assertNever(parsed, 'node event');
    }
  }

  /**
   * The RegionDO took this meeting off its node (down, draining or overloaded): move to another.
   * `leaving`: the node still runs (drain, overload) and serves its participants until they moved.
   */
  async onNodeLost(nodeId: string, leaving = false): Promise<void> {
    if (!this.room.configured) return;
    void (leaving ? this.cascade.onNodeLeaving(nodeId) : this.cascade.onNodeLost(nodeId));
    await this.media.onNodeLost(nodeId);
  }

  // ── room sockets ──────────────────────────────────────────────────────────────────────────

  /** GET /api/meetings/:linkId/ws (the session in Sec-WebSocket-Protocol) forwarded by edge/routes/join.ts. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    const response = await connectSocket(this.room, this.media, request);
    // The owner back on their session after someone took over as host.
    await returnHostToOwner(this.room, this.media);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    // The message's arrival, read before anything else: limits measure senders, not our queue.
    const arrivedAt = Date.now();
    const attachment = RoomSockets.attachment(ws);
    if (!attachment) return;
    if (!this.withinLimit(ws, attachment.participantId, 'frames', arrivedAt)) return;
    const parsed = parseSocketMessage(roomClientMessageSchema, ROOM_MESSAGE_TYPES, frame);
    if (!parsed.ok) return this.room.sendError(ws, parsed.code, parsed.message, parsed.ref);
    const message = parsed.message;
    const actor = this.room.participants.get(attachment.participantId);
    if (!actor || (actor.status !== 'joined' && actor.status !== 'waiting')) return;
    if (!this.withinLimit(ws, actor.participantId, messageClassOf(message.type), arrivedAt, message.ref)) return;
    try {
      if (actor.status === 'waiting' && message.type !== 'ping') throw new AppError('FORBIDDEN', 'you are in the waiting room; wait for the host');
      await this.handle(ws, actor, message);
      if (message.ref) this.room.sockets.send(ws, { type: 'ack', ref: message.ref });
    } catch (error) {
      const retryAfterMs = error instanceof RetryLaterError ? error.retryAfterSeconds * 1000 : undefined;
      if (error instanceof AppError) return this.room.sendError(ws, error.code, error.message, message.ref, retryAfterMs);
      log('error', 'room.message_failed', { type: message.type, error: describeError(error) });
      this.room.sendError(ws, 'INTERNAL', 'something went wrong; try again', message.ref);
    }
  }

  /** Per-participant limit of each kind of message (message-limits.ts); answers RATE_LIMITED when spent. */
  private withinLimit(ws: WebSocket, participantId: string, kind: MessageClass, arrivedAt: number, ref?: string): boolean {
    const waitMs = this.room.messageLimits.take(participantId, kind, arrivedAt);
    if (waitMs > 0) this.room.sendError(ws, 'RATE_LIMITED', `too many messages; wait ${Math.ceil(waitMs / 1000)} s`, ref, waitMs);
    return waitMs === 0;
  }

  private async handle(ws: WebSocket, actor: Participant, message: RoomClientMessage): Promise<void> {
    switch (message.type) {
      case 'chat.send':
        return sendChat(this.room, actor, message.text);
      case 'hand.set':
        // Only a change is news: a repeated hand.set writes and sends nothing.
        if (actor.handRaised === message.raised) return;
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
      case 'host.lowerHand':
      case 'host.end':
      case 'host.allowUnmute':
        return handleHostAction(this.room, this.media, actor, message);
      case 'recording.start':
        requireModerator(actor);
        return startRecording(this.room, this.media, this.env.FILES, actor.participantId);
      case 'recording.stop':
        requireModerator(actor);
        return stopRecording(this.room, this.media, actor.participantId);
      case 'media.refresh':
        this.room.sockets.send(ws, { type: 'media.assignment', media: await this.media.refresh(actor) });
        return;
      case 'ping':
        this.room.sockets.send(ws, { type: 'pong', at: Date.now() });
        return;
      default:
        return assertNever(message, 'room message');
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Complete the closing handshake, or the client's socket lingers in CLOSING for many seconds.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // already closed
    }
    await socketGone(this.room, this.media, ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await socketGone(this.room, this.media, ws);
  }

  // ── alarm: outbox retry, node release and re-placement, presence ─────────────────────────

  override async alarm(): Promise<void> {
    if (!this.room.configured) return;
    const now = Date.now();
    this.room.timers.alarmFired();
    const due = this.room.timers.takeDue(now);
    // Any wake-up is a chance to send pending history, due or not.
    if (this.room.outbox.hasPending()) await this.room.flushOutbox();
    for (const timer of due) {
      try {
        await this.onTimer(timer, now);
      } catch (error) {
        // takeDue removed its row: set again, it runs once more, and the other deadlines still run
        // now (the runtime's retry of a failed alarm would find none of them).
        log('error', 'room.timer_failed', { timer, error: describeError(error) });
        await this.room.timers.set(timer, Date.now() + TIMER_RETRY_MS, true);
      }
    }
    await this.room.timers.arm();
  }

  private async onTimer(timer: string, now: number): Promise<void> {
    switch (timer) {
      case OUTBOX_TIMER:
        return;
      case RELEASE_TIMER:
        return this.media.onReleaseDue();
      case REPLACE_TIMER:
        return this.media.onReplaceDue();
      case PRESENCE_TIMER:
        return prunePresence(this.room, this.media, now);
      case LET_GO_TIMER:
        return letGoDue(this.room, this.media, now);
      case HOST_HANDOVER_TIMER:
        return handOverHost(this.room, this.media, now);
      default:
        if (isRecordingDeadline(timer)) await onRecordingDeadline(this.room, timer, now, { env: this.env, recordingOn: (node) => this.media.recordingOn(node) });
        // Any other name no code sets any more (a room stored by an older version): dropped.
        return;
    }
  }
}

/** A deadline whose handler failed runs again this much later. */
const TIMER_RETRY_MS = 5_000;

/** An RPC answer; a refusal that says when to come back carries the wait (Retry-After for the route). */
export type RoomRpcResult<T> = RpcResult<T> | { ok: false; code: RpcFailure['code']; message: string; retryAfterSeconds: number };
type RpcFailure = Extract<RpcResult<unknown>, { ok: false }>;
/** MEETING_FULL names the one joiner the meeting still lets in (edge/routes/full-meeting-cache.ts). */
export type FullMeetingRefusal = { ok: false; code: 'MEETING_FULL'; message: string; hostUserId: string };

async function asResult<T>(work: () => Promise<T>): Promise<RoomRpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof RetryLaterError) return { ok: false, code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds };
    if (error instanceof AppError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}
