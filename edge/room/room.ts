import { AppError, type ErrorCode } from '../../schema/wire/errors.js';
import type { JoinResponse, MeetingSettings } from '../../schema/wire/http.js';
import type { Permission, Role } from '../../schema/wire/common.js';
import type { NodeCommand } from '../../schema/wire/node-control.js';
import type { MediaAssignment, RoomServerMessage } from '../../schema/wire/room.js';
import type { RegionId } from '../../schema/regions.js';
import { randomBytes, sha256Hex, toBase64Url } from '../auth/encoding.js';
import type { Env } from '../env.js';
import { describeError, log } from '../http/log.js';
import { registryConfig } from '../registry/config.js';
import { safeEqual } from '../registry/credentials.js';
import { regionStub, type PlacedNode } from '../registry/region-do.js';
import { regionsByDistance } from '../registry/region-choice.js';
import { Chat, ChatRateLimiter } from './chat.js';
import { MediaTokenSigner } from './media-token.js';
import { MeetingState } from './meeting-state.js';
import { Outbox, type DistributiveOmit, type PendingRecord } from './outbox.js';
import { identitiesOf, isModerator, participantView, Participants, waitingView, type Participant } from './participants.js';
import { RoomSockets } from './sockets.js';
import { Timers } from './timers.js';

/** How long a room keeps its media node after the last participant left. */
export const RELEASE_GRACE_MS = 60_000;
/** How long a joined participant may go without a room socket before counting as gone. */
export const CONNECT_GRACE_MS = 60_000;
/** Retry delay for history the queue did not take. */
export const OUTBOX_RETRY_MS = 5_000;
/** How long history waits to be sent with whatever else the room writes meanwhile. */
export const OUTBOX_COALESCE_MS = 100;

export interface RoomJoinInput {
  /** The signed-in user, or null for a guest. */
  user: { id: string; displayName: string } | null;
  displayName?: string | undefined;
  passcode?: string | undefined;
  /** Media regions nearest the client first (edge/registry/region-choice.ts). */
  regions: RegionId[];
  /** Guests only: the browser's key and the hashed client address (see identitiesOf). */
  guestKey?: string | undefined;
  networkHash?: string | undefined;
}

type HistoryFields = DistributiveOmit<PendingRecord, 'meetingId' | 'meetingLinkId' | 'at'>;

export type LeaveReason = 'left' | 'removed' | 'disconnected' | 'ended';

function permissionsOf(role: Role): Permission[] {
  return role === 'host' || role === 'cohost' ? ['publish', 'subscribe', 'screen', 'record'] : ['publish', 'subscribe', 'screen'];
}

/**
 * One meeting's state and the operations on it, shared by the RoomDO's RPC methods, socket
 * handlers and alarm. Each state change writes its history rows to the outbox in the same
 * synchronous block (one storage transaction), then flushes the outbox.
 */
export class Room {
  readonly sockets: RoomSockets;
  readonly chatLimiter = new ChatRateLimiter();
  private readonly signer: MediaTokenSigner;
  private readonly defaultRegion: RegionId;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** The placement in flight: concurrent first joins all wait for this one. */
  private assigning: Promise<PlacedNode> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {
    this.sockets = new RoomSockets(ctx);
    this.signer = new MediaTokenSigner(env.MEDIA_TOKEN_PRIVATE_JWK);
    this.defaultRegion = registryConfig(env).defaultRegion;
    const hasTables = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meeting'").toArray().length > 0;
    if (hasTables) this.parts = this.createParts();
  }

  // ── storage ───────────────────────────────────────────────────────────────────────────────

  /**
   * The room's tables exist only once configure() ran: probing unknown link ids must not leave
   * storage behind in millions of empty objects. Entry points check `configured` first.
   */
  private parts: { meeting: MeetingState; participants: Participants; chat: Chat; outbox: Outbox; timers: Timers } | null = null;

  private createParts() {
    const sql = this.ctx.storage.sql;
    return {
      meeting: new MeetingState(sql),
      participants: new Participants(sql),
      chat: new Chat(sql),
      outbox: new Outbox(sql, this.env.HISTORY),
      timers: new Timers(this.ctx.storage),
    };
  }

  get configured(): boolean {
    return this.parts !== null;
  }

  /** Creates the tables (configure() only). */
  ensureTables(): void {
    this.parts ??= this.createParts();
  }

  private get stored() {
    if (!this.parts) throw new AppError('MEETING_NOT_FOUND', 'no such meeting; check the link');
    return this.parts;
  }
  get meeting(): MeetingState {
    return this.stored.meeting;
  }
  get participants(): Participants {
    return this.stored.participants;
  }
  get chat(): Chat {
    return this.stored.chat;
  }
  get outbox(): Outbox {
    return this.stored.outbox;
  }
  get timers(): Timers {
    return this.stored.timers;
  }

  // ── state helpers ─────────────────────────────────────────────────────────────────────────

  /** Settings of a configured meeting that has not ended, or the error a joiner gets. */
  openSettings(): MeetingSettings {
    const settings = this.parts?.meeting.settings();
    if (!settings) throw new AppError('MEETING_NOT_FOUND', 'no such meeting; check the link');
    if (this.meeting.ended() || settings.endedAt !== null) throw new AppError('MEETING_ENDED', 'this meeting has ended');
    return settings;
  }

  /** Adds a history record (meeting ids and time filled in) to the outbox. */
  record(fields: HistoryFields, at = Date.now()): void {
    const settings = this.meeting.settings();
    if (!settings) return;
    this.outbox.add({ ...fields, meetingId: settings.meetingId, meetingLinkId: settings.linkId, at } as PendingRecord);
  }

  /** Runs a state change and its outbox rows atomically, then sends the history on its way. */
  async change<T>(work: () => T): Promise<T> {
    const result = this.ctx.storage.transactionSync(work);
    await this.afterWrite();
    return result;
  }

  private async afterWrite(): Promise<void> {
    if (this.outbox.pending() === 0) return;
    // The alarm is the safety net if this instance dies before the prompt flush gets through.
    if (!this.timers.has('outbox')) await this.timers.set('outbox', Date.now() + OUTBOX_RETRY_MS);
    // Writes close together share one sendBatch (fewer queue operations per row at peak).
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.ctx.waitUntil(this.flushOutbox());
      }, OUTBOX_COALESCE_MS);
    }
  }

  async flushOutbox(): Promise<void> {
    if (await this.outbox.flush()) {
      if (this.outbox.pending() === 0) await this.timers.clear('outbox');
    } else {
      await this.timers.set('outbox', Date.now() + OUTBOX_RETRY_MS);
    }
  }

  meetingView() {
    const settings = this.meeting.settings();
    return { title: settings?.title ?? '', locked: this.meeting.locked(), recording: this.meeting.recording(), ended: this.meeting.ended() };
  }

  moderatorIds(): Set<string> {
    return new Set(this.participants.withStatus('joined').filter(isModerator).map((p) => p.participantId));
  }

  broadcastWaiting(): void {
    const moderators = this.moderatorIds();
    this.sockets.broadcast({ type: 'waiting.updated', waiting: this.participants.withStatus('waiting').map(waitingView) }, (id) => moderators.has(id));
  }

  broadcastMeeting(): void {
    this.sockets.broadcast({ type: 'meeting.updated', meeting: this.meetingView() });
  }

  broadcastParticipant(participantId: string): void {
    const participant = this.participants.get(participantId);
    if (participant) this.sockets.broadcast({ type: 'participant.updated', participant: participantView(participant) });
  }

  // ── media ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The meeting's media node: kept once assigned; otherwise placed by the nearest region with
   * capacity. Concurrent callers share one placement, so a meeting never lands on two nodes.
   */
  ensureAssignment(regions: readonly RegionId[]): Promise<PlacedNode> {
    const current = this.meeting.assignment();
    if (current) return Promise.resolve(current);
    this.assigning ??= this.place(regions.length > 0 ? regions : this.fallbackRegions()).finally(() => {
      this.assigning = null;
    });
    return this.assigning;
  }

  private fallbackRegions(): RegionId[] {
    const remembered = this.meeting.regions();
    return remembered.length > 0 ? remembered : regionsByDistance({}, this.defaultRegion);
  }

  private async place(regions: readonly RegionId[]): Promise<PlacedNode> {
    const linkId = this.meeting.settings()!.linkId;
    for (const region of regions) {
      let placed: PlacedNode | null = null;
      try {
        placed = await regionStub(this.env, region).place(linkId);
      } catch (error) {
        log('error', 'room.place_failed', { linkId, region, error: describeError(error) });
      }
      if (!placed) continue;
      this.meeting.setAssignment(placed);
      this.meeting.setRegions(regions);
      await this.timers.clear('release');
      return placed;
    }
    throw new AppError('NO_MEDIA_CAPACITY', 'no media region has room for this meeting right now; try again shortly');
  }

  async mediaFor(participant: Participant, node: PlacedNode): Promise<MediaAssignment> {
    const { token, expiresAt } = await this.signer.sign({
      nodeId: node.nodeId,
      participantId: participant.participantId,
      meetingLinkId: this.meeting.settings()!.linkId,
      displayName: participant.displayName,
      perms: permissionsOf(participant.role),
    });
    return { nodeId: node.nodeId, region: node.region, signalingUrl: node.signalingUrl, token, expiresAt };
  }

  /** Sends a command to the meeting's node; false when there is no node or it is unreachable. */
  async commandNode(command: NodeCommand): Promise<boolean> {
    const node = this.meeting.assignment();
    if (!node) return false;
    try {
      const result = await regionStub(this.env, node.region).sendCommand(node.nodeId, command);
      if (!result.ok) log('warn', 'room.node_command_failed', { nodeId: node.nodeId, command: command.command, code: result.code });
      return result.ok;
    } catch (error) {
      log('error', 'room.node_command_failed', { nodeId: node.nodeId, command: command.command, error: describeError(error) });
      return false;
    }
  }

  /** Frees the node once nobody is left (the release alarm decides; see RELEASE_GRACE_MS). */
  async releaseNode(): Promise<void> {
    const node = this.meeting.assignment();
    if (!node) return;
    this.meeting.setAssignment(null);
    try {
      await regionStub(this.env, node.region).release(this.meeting.settings()!.linkId, node.nodeId);
    } catch (error) {
      log('error', 'room.release_failed', { nodeId: node.nodeId, error: describeError(error) });
    }
  }

  // ── joining ───────────────────────────────────────────────────────────────────────────────

  async join(input: RoomJoinInput): Promise<JoinResponse> {
    const settings = this.openSettings();
    const isHost = input.user !== null && input.user.id === settings.hostUserId;
    const displayName = input.displayName ?? input.user?.displayName;
    if (!displayName) throw new AppError('VALIDATION_FAILED', 'guests need a display name');
    if (!isHost) {
      if (settings.passcode !== null && !(await safeEqual(input.passcode ?? '', settings.passcode))) {
        throw new AppError('WRONG_PASSCODE', 'the passcode is wrong');
      }
      if (!input.user && !settings.allowGuests) throw new AppError('GUESTS_NOT_ALLOWED', 'this meeting is for signed-in users; sign in to join');
    }
    const roomSession = toBase64Url(randomBytes(32));
    const sessionHash = await sha256Hex(roomSession);
    const participantId = toBase64Url(randomBytes(12));
    const role: Role = isHost ? 'host' : input.user ? 'participant' : 'guest';
    const identity = { userId: input.user?.id ?? null, displayName };
    const identities = identitiesOf({ ...identity, guestKey: input.guestKey, networkHash: input.networkHash });
    const waits = !isHost && settings.waitingRoom;
    // From here to the insert nothing awaits (waiting path), so the checks still hold at the write.
    this.openSettings();
    this.checkAdmissible(identities, isHost, waits);
    const now = Date.now();

    if (waits) {
      await this.change(() => {
        this.participants.insert({ participantId, sessionHash, ...identity, role, status: 'waiting', now, identities });
        this.record({ kind: 'analytics', event: 'waiting_room_entered', participantId, props: { role } });
      });
      await this.timers.setIfUnset('presence', now + CONNECT_GRACE_MS);
      this.broadcastWaiting();
      return { participantId, role, roomSession, status: 'waiting', media: null };
    }

    const node = await this.ensureAssignment(input.regions);
    // The placement awaited other objects: check again before taking the seat.
    this.openSettings();
    this.checkAdmissible(identities, isHost, false);
    const participant = await this.change(() => {
      const inserted = this.participants.insert({ participantId, sessionHash, ...identity, role, status: 'joined', now, identities });
      this.recordJoined(inserted, now);
      return inserted;
    });
    await this.timers.clearIfSet('release');
    await this.timers.setIfUnset('presence', now + CONNECT_GRACE_MS);
    this.sockets.broadcast({ type: 'participant.joined', participant: participantView(participant) });
    return { participantId, role, roomSession, status: 'joined', media: await this.mediaFor(participant, node) };
  }

  /** Removed people, locked meetings and full rooms stop a join; the host passes all three. */
  private checkAdmissible(identities: readonly string[], isHost: boolean, waits: boolean): void {
    if (isHost) return;
    if (this.participants.isBanned(identities)) throw new AppError('REMOVED_BY_HOST', 'the host removed you from this meeting');
    if (this.meeting.locked()) throw new AppError('MEETING_LOCKED', 'the host locked this meeting');
    if (!waits) this.checkCapacity();
  }

  checkCapacity(): void {
    const settings = this.meeting.settings()!;
    if (this.participants.count('joined') >= settings.maxParticipants) {
      throw new AppError('MEETING_FULL', `this meeting is full (${settings.maxParticipants} participants)`);
    }
  }

  /** History of someone entering the meeting (inside a change()). */
  recordJoined(participant: Participant, at: number): void {
    if (this.meeting.markLive()) {
      this.record({ kind: 'meetingStatus', status: 'live' }, at);
      this.record({ kind: 'analytics', event: 'meeting_started', participantId: participant.participantId, props: {} }, at);
    }
    this.record(
      { kind: 'participantJoined', participantId: participant.participantId, userId: participant.userId, displayName: participant.displayName, role: participant.role },
      at,
    );
    this.record({ kind: 'analytics', event: 'join', participantId: participant.participantId, props: { role: participant.role } }, at);
  }

  // ── leaving ───────────────────────────────────────────────────────────────────────────────

  /** A joined participant is out (left, dropped, removed): state, history, everyone told. */
  async leave(participant: Participant, reason: LeaveReason): Promise<void> {
    const now = Date.now();
    await this.change(() => {
      this.participants.setStatus(participant.participantId, reason === 'removed' ? 'removed' : 'left', now);
      // A removal also bars the person (user id / guest name) from joining again.
      if (reason === 'removed') this.participants.ban(participant, now);
      this.record({ kind: 'participantLeft', participantId: participant.participantId, reason }, now);
      this.record({ kind: 'analytics', event: reason === 'removed' ? 'removed' : 'leave', participantId: participant.participantId, props: { reason } }, now);
    });
    this.chatLimiter.forget(participant.participantId);
    this.sockets.broadcast({ type: 'participant.left', participantId: participant.participantId, reason });
    if (isModerator(participant)) this.broadcastWaiting();
    if (this.participants.count('joined') === 0 && this.meeting.assignment()) await this.timers.set('release', now + RELEASE_GRACE_MS);
  }

  /** Ends the meeting for everyone: node closed, sockets closed, history written. Idempotent. */
  async end(reason: string): Promise<void> {
    if (!this.meeting.settings() || this.meeting.ended()) return;
    const now = Date.now();
    const present = this.participants.withStatus('joined');
    const waiting = this.participants.withStatus('waiting');
    const recording = this.meeting.recording();
    await this.change(() => {
      this.meeting.markEnded();
      for (const p of present) {
        this.participants.setStatus(p.participantId, 'left', now);
        this.record({ kind: 'participantLeft', participantId: p.participantId, reason: 'ended' }, now);
      }
      for (const p of waiting) this.participants.setStatus(p.participantId, 'left', now);
      if (recording.active) {
        this.meeting.setRecording({ ...recording, active: false });
        this.record({ kind: 'analytics', event: 'recording_stopped', participantId: null, props: { recordingId: recording.recordingId, reason: 'ended' } }, now);
      }
      this.record({ kind: 'meetingStatus', status: 'ended' }, now);
      this.record({ kind: 'analytics', event: 'meeting_ended', participantId: null, props: { participants: present.length } }, now);
    });
    await this.commandNode({ command: 'closeMeeting', meetingId: this.meeting.settings()!.linkId, reason: reason.slice(0, 200) });
    this.sockets.closeAll('MEETING_ENDED', 'the meeting has ended');
    await this.releaseNode();
    await this.timers.clear('release');
    await this.timers.clear('presence');
  }

  // ── sockets ───────────────────────────────────────────────────────────────────────────────

  /** Sends the full room picture to a participant who is in. */
  async welcome(ws: WebSocket, participant: Participant): Promise<void> {
    let media: MediaAssignment | null = null;
    try {
      media = await this.mediaFor(participant, await this.ensureAssignment([]));
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.sockets.send(ws, { type: 'error', code: error.code, message: error.message });
    }
    const message: RoomServerMessage = {
      type: 'welcome',
      self: participantView(participant),
      participants: this.participants.withStatus('joined').map(participantView),
      waiting: isModerator(participant) ? this.participants.withStatus('waiting').map(waitingView) : [],
      chat: this.chat.recent(),
      meeting: this.meetingView(),
      media,
    };
    this.sockets.send(ws, message);
  }

  /** The RegionDO lost the node: forget it and, if people are here, move them to a new one. */
  async onNodeLost(nodeId: string): Promise<void> {
    const node = this.meeting.assignment();
    if (!node || node.nodeId !== nodeId) return;
    this.meeting.setAssignment(null);
    const recording = this.meeting.recording();
    if (recording.active) {
      await this.change(() => {
        this.meeting.setRecording({ ...recording, active: false, status: 'failed' });
        this.record({ kind: 'analytics', event: 'recording_stopped', participantId: null, props: { recordingId: recording.recordingId, reason: 'node_lost' } });
      });
      this.broadcastMeeting();
    }
    const connected = this.participants.withStatus('joined').filter((p) => this.sockets.isConnected(p.participantId));
    if (connected.length === 0) return;
    const next = await this.ensureAssignment([]);
    for (const participant of connected) {
      this.sockets.sendTo(participant.participantId, { type: 'media.assignment', media: await this.mediaFor(participant, next) });
    }
  }

  /**
   * A client could not reach the media node and asks again: check with the node's region that it
   * still serves this meeting. If the region has moved the meeting (the node died and its notice
   * went astray) or cannot answer, everyone here moves to a new node, as on onNodeLost.
   */
  async confirmAssignment(): Promise<void> {
    const current = this.meeting.assignment();
    if (!current) return;
    let now: PlacedNode | null = null;
    try {
      now = await regionStub(this.env, current.region).place(this.meeting.settings()!.linkId);
    } catch (error) {
      log('error', 'room.confirm_failed', { nodeId: current.nodeId, error: describeError(error) });
    }
    if (now?.nodeId === current.nodeId) return;
    log('warn', 'room.node_replaced', { from: current.nodeId, to: now?.nodeId ?? null });
    await this.onNodeLost(current.nodeId);
  }

  /** Participants who joined (or wait) but never kept a socket open are let go. */
  async prunePresence(now: number): Promise<void> {
    let nextCheck: number | null = null;
    for (const p of [...this.participants.withStatus('joined'), ...this.participants.withStatus('waiting')]) {
      if (this.sockets.isConnected(p.participantId)) continue;
      const since = p.status === 'waiting' ? (p.waitingSince ?? p.joinedAt) : p.joinedAt;
      if (since + CONNECT_GRACE_MS > now) {
        nextCheck = Math.min(nextCheck ?? Infinity, since + CONNECT_GRACE_MS);
      } else if (p.status === 'joined') {
        await this.leave(p, 'disconnected');
      } else {
        this.participants.setStatus(p.participantId, 'left', now);
        this.broadcastWaiting();
      }
    }
    if (nextCheck !== null) await this.timers.set('presence', nextCheck, true);
  }

  /** Sends the error a client message earned, keeping the client's ref. */
  sendError(ws: WebSocket, code: ErrorCode, message: string, ref?: string): void {
    this.sockets.send(ws, { type: 'error', code, message, ...(ref ? { ref } : {}) });
  }
}
