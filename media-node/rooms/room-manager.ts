import { EventEmitter } from 'node:events';
import { AppError, type MediaKind, type Permission } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import { EndedMeetings, type TokenIssued } from './ended-meetings.js';
import { HostMutes } from './host-mutes.js';
import type { Participant, ParticipantOptions } from './participant.js';
import { Room } from './room.js';
import { HOST_MUTE_REASON } from './self-unmute.js';
import type { ParticipantIdentity, ParticipantSink, RoomProducer } from './types.js';

interface RoomManagerEvents {
  participantLeft: [meetingId: string, participantId: string, reason: string];
  participantUnmuted: [meetingId: string, participantId: string, kind: MediaKind];
  roomClosed: [meetingId: string];
  /** Cascading (the RoomDO's media graph): a participant connected here, and its producers. */
  participantJoined: [meetingId: string, participantId: string];
  producerOpened: [meetingId: string, producer: RoomProducer, paused: boolean];
  producerClosed: [meetingId: string, producerId: string];
  producerPaused: [meetingId: string, producerId: string, paused: boolean];
}

/**
 * The node's meetings: one Room per meeting id, created once even under concurrent joins,
 * closed when its last participant leaves. Remembers participants the edge removed so their
 * tokens are refused until long after they expire, and meetings the edge closed so tokens issued
 * before the close are refused until they expire.
 */
/** An undated role change (an older edge's) holds tokens minted up to this long after the node got it. */
const UNDATED_CHANGE_SKEW_MS = 1_000;

export class RoomManager extends EventEmitter<RoomManagerEvents> {
  readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  /** Revoked tokens by meeting and participant: since when, and (a let-go) up to which issue time. */
  private readonly revoked = new Map<string, Map<string, { at: number; issuedBefore: number | null }>>();
  private readonly ended = new EndedMeetings();
  /**
   * What the room still allows a participant whose role changed (meeting → participant →
   * { permissions, at, changedAt }): a token minted before the change (edge clock) may carry more.
   * Kept as long as such a token may live (revokedTtlMs); a later change replaces it.
   */
  private readonly caps = new Map<string, Map<string, { permissions: readonly Permission[]; at: number; changedAt: number }>>();
  readonly hostMutes: HostMutes;
  draining = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly participantOptions: ParticipantOptions,
    private readonly revokedTtlMs: number,
    private readonly metrics: Metrics,
    private readonly log: Log,
  ) {
    super();
    this.hostMutes = new HostMutes(revokedTtlMs);
  }

  /** `tokenIssuedAt`: when the media token was issued (iat, iatMs); a token from before the meeting's close here is refused. */
  async join(meetingId: string, identity: ParticipantIdentity, sink: ParticipantSink, tokenIssuedAt: TokenIssued): Promise<{ room: Room; participant: Participant }> {
    const revoked = this.revocation(meetingId, identity.participantId, tokenIssuedAt);
    if (revoked) throw revoked;
    this.assertNotEnded(meetingId, tokenIssuedAt);
    // A room may close (last leave) between finding it and joining it: then open a fresh one.
    for (let attempt = 0; attempt < 3; attempt++) {
      // A retry follows a room that closed under the join: maybe the meeting's end, so no new room for it.
      if (attempt > 0) this.assertNotEnded(meetingId, tokenIssuedAt);
      const room = await this.roomFor(meetingId);
      // The edge may have closed the meeting while its room opened (or before a retry).
      this.assertNotEnded(meetingId, tokenIssuedAt);
      try {
        const participant = await room.join(identity, sink);
        // Removed (or let go) while being seated: closeParticipant found nobody to close, so the join does it.
        const revokedMeanwhile = this.revocation(meetingId, identity.participantId, tokenIssuedAt);
        if (revokedMeanwhile) {
          room.removeParticipant(participant, revokedMeanwhile.message, revokedMeanwhile.code);
          throw revokedMeanwhile;
        }
        // Held to the room's latest word on their role before any request of theirs is handled.
        const cap = this.capOf(meetingId, identity.participantId, tokenIssuedAt);
        if (cap) participant.limitTo(cap);
        this.emit('participantJoined', meetingId, identity.participantId);
        return { room, participant };
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'MEETING_ENDED' && room.closed)) throw error;
      }
    }
    throw new AppError('INTERNAL', 'could not join the meeting');
  }

  /**
   * The meeting's room for a recording the edge starts here: the open one, or a new one when
   * nobody is here (a cascaded meeting whose participants are all on other nodes; the RoomDO then
   * relays the meeting's media into it). Never for a meeting the edge ended here.
   */
  async roomForRecording(meetingId: string): Promise<Room> {
    if (this.ended.ended(meetingId)) throw new AppError('MEETING_ENDED', 'this meeting has ended');
    return this.roomFor(meetingId);
  }

  /**
   * The meeting's open room here, waiting for one being opened: the edge relays into a recording's
   * room right after its startRecording, and commands run side by side.
   */
  async openRoom(meetingId: string): Promise<Room | undefined> {
    const room = this.rooms.get(meetingId) ?? (await this.opening.get(meetingId)?.catch(() => undefined));
    return room && !room.closed ? room : undefined;
  }

  private async roomFor(meetingId: string): Promise<Room> {
    const existing = this.rooms.get(meetingId);
    if (existing && !existing.closed) return existing;
    const opening = this.opening.get(meetingId);
    if (opening) return opening;
    if (this.draining) throw new AppError('NODE_DRAINING', 'this media node is draining and takes no new meetings');
    const promise = Room.create(meetingId, this.pool, this.participantOptions, this.metrics, this.log, this.hostMutes).then((room) => {
      this.rooms.set(meetingId, room);
      room.on('participantLeft', (participantId, reason) => this.emit('participantLeft', meetingId, participantId, reason));
      room.on('participantUnmuted', (participantId, kind) => this.emit('participantUnmuted', meetingId, participantId, kind));
      room.on('producerAdded', (producer) => this.watchProducer(meetingId, producer));
      room.once('closed', () => {
        if (this.rooms.get(meetingId) === room) this.rooms.delete(meetingId);
        this.emit('roomClosed', meetingId);
      });
      return room;
    });
    this.opening.set(meetingId, promise);
    try {
      return await promise;
    } finally {
      this.opening.delete(meetingId);
    }
  }

  /**
   * A producer of a participant connected here (a copy relayed from another node — its appData
   * names `relayedFrom` — stays quiet: the RoomDO knows it already) is reported with its pauses
   * and its close.
   */
  private watchProducer(meetingId: string, producer: RoomProducer): void {
    const origin = producer.origin;
    if ('relayedFrom' in origin.appData || origin.closed) return;
    this.emit('producerOpened', meetingId, producer, origin.paused);
    origin.observer.on('pause', () => this.emit('producerPaused', meetingId, origin.id, true));
    origin.observer.on('resume', () => this.emit('producerPaused', meetingId, origin.id, false));
    origin.observer.once('close', () => this.emit('producerClosed', meetingId, origin.id));
  }

  private assertNotEnded(meetingId: string, tokenIssuedAt: TokenIssued): void {
    const refused = this.ended.refuses(meetingId, tokenIssuedAt);
    if (refused === 'moved') throw new AppError('MEETING_MOVED', 'this meeting moved to another media node; ask the room for a new one');
    if (refused === 'ended') throw new AppError('MEETING_ENDED', 'this meeting has ended');
  }

  /**
   * The edge closed the meeting here (it ended, or moved to another node): its room closes, its
   * host mutes are forgotten, and tokens issued until the close (`edgeClosedAt`, the edge's clock,
   * when it says; else now) are refused. False when no room was open.
   */
  async endMeeting(meetingId: string, reason: string, why: 'ended' | 'moved' = 'ended', edgeClosedAt?: number): Promise<boolean> {
    this.ended.end(meetingId, why, Date.now(), edgeClosedAt);
    this.hostMutes.forget(meetingId);
    const opening = this.opening.get(meetingId);
    const room = this.rooms.get(meetingId) ?? (opening ? await opening.catch(() => undefined) : undefined);
    if (!room || room.closed) return false;
    room.close(why === 'moved' ? 'MEETING_MOVED' : 'MEETING_ENDED', reason);
    return true;
  }

  /**
   * Host mute: remembered for the participant (connected here or not) and enforced on its
   * producers now. `participantsMayUnmute`, when given, is the meeting's current policy.
   */
  async hostMute(meetingId: string, participantId: string, kind: MediaKind | undefined, participantsMayUnmute: boolean | undefined): Promise<void> {
    this.hostMutes.prune((id) => this.rooms.has(id));
    if (participantsMayUnmute !== undefined) this.hostMutes.setPolicy(meetingId, participantsMayUnmute);
    this.hostMutes.mute(meetingId, participantId, kind ? [kind] : ['audio', 'video']);
    await this.rooms.get(meetingId)?.participants.get(participantId)?.mute(kind, HOST_MUTE_REASON);
  }

  setUnmutePolicy(meetingId: string, participantsMayUnmute: boolean): void {
    this.hostMutes.prune((id) => this.rooms.has(id));
    this.hostMutes.setPolicy(meetingId, participantsMayUnmute);
  }

  /**
   * The participant's role changed: their sessions here may do no more than `permissions` — the
   * one connected now at once (producers it may no longer have close), and any later one whose
   * token was minted by `changedAt` (edge clock), whatever it says. Answers how many producers closed.
   */
  setPermissions(meetingId: string, participantId: string, permissions: readonly Permission[], changedAt?: number): number {
    this.pruneCaps();
    let ofMeeting = this.caps.get(meetingId);
    if (!ofMeeting) this.caps.set(meetingId, (ofMeeting = new Map()));
    // Without the edge's time, the node's own, with room for the edge's clock being ahead of it.
    ofMeeting.set(participantId, { permissions, at: Date.now(), changedAt: changedAt ?? Date.now() + UNDATED_CHANGE_SKEW_MS });
    return this.rooms.get(meetingId)?.participants.get(participantId)?.limitTo(permissions) ?? 0;
  }

  /** The cap on a session with this token: none for a token minted after the change (it carries the new role). */
  private capOf(meetingId: string, participantId: string, issued: TokenIssued): readonly Permission[] | null {
    const cap = this.caps.get(meetingId)?.get(participantId);
    if (!cap || Date.now() - cap.at >= this.revokedTtlMs) return null;
    return (issued.ms ?? issued.seconds * 1000) <= cap.changedAt ? cap.permissions : null;
  }

  private pruneCaps(): void {
    const now = Date.now();
    for (const [meetingId, ofMeeting] of this.caps) {
      for (const [participantId, cap] of ofMeeting) if (now - cap.at >= this.revokedTtlMs) ofMeeting.delete(participantId);
      if (ofMeeting.size === 0) this.caps.delete(meetingId);
    }
  }

  /**
   * Refuses the participant's tokens for a token's lifetime: all of them (a removal), or those
   * issued before `tokensIssuedBefore` (edge clock; they left the room and may return with a
   * fresh one). A removal is never narrowed by a later let-go.
   */
  revoke(meetingId: string, participantId: string, tokensIssuedBefore?: number): void {
    this.pruneRevoked();
    let ids = this.revoked.get(meetingId);
    if (!ids) this.revoked.set(meetingId, (ids = new Map()));
    const earlier = ids.get(participantId);
    const removal = earlier !== undefined && earlier.issuedBefore === null && Date.now() - earlier.at < this.revokedTtlMs;
    ids.set(participantId, { at: Date.now(), issuedBefore: removal ? null : (tokensIssuedBefore ?? null) });
  }

  /** Why a token with this issue time is refused, or null: removed, or let go (an older token of someone who left). */
  private revocation(meetingId: string, participantId: string, issued: TokenIssued): AppError | null {
    const revoked = this.revoked.get(meetingId)?.get(participantId);
    if (revoked === undefined || Date.now() - revoked.at >= this.revokedTtlMs) return null;
    if (revoked.issuedBefore === null) return new AppError('REMOVED_BY_HOST', 'this participant was removed from the meeting');
    if ((issued.ms ?? issued.seconds * 1000) < revoked.issuedBefore) return new AppError('TOKEN_EXPIRED', 'this token was let go when its participant left the meeting; rejoin for a fresh one');
    return null;
  }

  private pruneRevoked(): void {
    const now = Date.now();
    for (const [meetingId, ids] of this.revoked) {
      for (const [participantId, { at }] of ids) if (now - at >= this.revokedTtlMs) ids.delete(participantId);
      if (ids.size === 0) this.revoked.delete(meetingId);
    }
  }

  totals(): { rooms: number; participants: number } {
    let participants = 0;
    for (const room of this.rooms.values()) participants += room.participants.size;
    return { rooms: this.rooms.size, participants };
  }

  closeAll(reason: string): void {
    for (const room of [...this.rooms.values()]) room.close('NODE_DRAINING', reason);
  }
}
