import { AppError, type MediaKind } from '../../schema/wire/index.js';

/** What `checkUnmute` hands back, to be given to `unmuted` once the producer really plays again. */
export interface UnmuteTicket {
  /** Stamp of the host mute in force when checked (undefined: none), to tell a mute that came meanwhile. */
  mutedStamp: number | undefined;
}

interface MeetingMutes {
  /** The meeting's policy (setUnmutePolicy; default true). */
  participantsMayUnmute: boolean;
  /**
   * Kinds the host muted, by participant id (kept over reconnects: a new session is the same
   * person), each with the stamp of its latest mute.
   */
  muted: Map<string, Map<MediaKind, number>>;
  touchedAt: number;
}

/**
 * Host mutes and the unmute policy of every meeting on this node, kept outside the Room so they
 * outlive a room that empties and reopens, and apply to a participant who connects later. A
 * meeting's entry goes when the meeting ends here, or when it has had no room for `idleTtlMs`.
 */
export class HostMutes {
  private readonly meetings = new Map<string, MeetingMutes>();
  private stamps = 0;

  constructor(private readonly idleTtlMs: number) {}

  setPolicy(meetingId: string, participantsMayUnmute: boolean): void {
    this.entry(meetingId).participantsMayUnmute = participantsMayUnmute;
  }

  mute(meetingId: string, participantId: string, kinds: readonly MediaKind[]): void {
    const meeting = this.entry(meetingId);
    let muted = meeting.muted.get(participantId);
    if (!muted) meeting.muted.set(participantId, (muted = new Map()));
    const stamp = ++this.stamps;
    for (const kind of kinds) muted.set(kind, stamp);
  }

  isMuted(meetingId: string, participantId: string, kind: MediaKind): boolean {
    return this.meetings.get(meetingId)?.muted.get(participantId)?.has(kind) === true;
  }

  /**
   * Before the participant makes a kind audible again (resume, or produce unpaused): refuses with
   * PERMISSION_DENIED while the host muted it and the meeting does not let people unmute themselves.
   */
  checkUnmute(meetingId: string, participantId: string, kind: MediaKind): UnmuteTicket {
    const meeting = this.meetings.get(meetingId);
    const mutedStamp = meeting?.muted.get(participantId)?.get(kind);
    if (mutedStamp !== undefined && meeting?.participantsMayUnmute === false) {
      throw new AppError('PERMISSION_DENIED', `the host muted your ${kind} and has not allowed participants to unmute themselves`);
    }
    return { mutedStamp };
  }

  /**
   * The unmute went through. 'cleared': it ended a host mute (the edge is told). 'overruled': the
   * host muted the kind while it was under way, so the mute stands (the caller pauses again).
   */
  unmuted(meetingId: string, participantId: string, kind: MediaKind, ticket: UnmuteTicket): 'cleared' | 'overruled' | 'none' {
    const muted = this.meetings.get(meetingId)?.muted.get(participantId);
    const stamp = muted?.get(kind);
    if (!muted || stamp === undefined) return 'none';
    if (stamp !== ticket.mutedStamp) return 'overruled';
    muted.delete(kind);
    if (muted.size === 0) this.meetings.get(meetingId)?.muted.delete(participantId);
    return 'cleared';
  }

  /** The meeting ended (or moved away): nothing of it is kept. */
  forget(meetingId: string): void {
    this.meetings.delete(meetingId);
  }

  /** Forgets meetings without a room here that nobody touched for `idleTtlMs`. */
  prune(hasRoom: (meetingId: string) => boolean, now = Date.now()): void {
    for (const [meetingId, meeting] of this.meetings) {
      if (!hasRoom(meetingId) && now - meeting.touchedAt >= this.idleTtlMs) this.meetings.delete(meetingId);
    }
  }

  get size(): number {
    return this.meetings.size;
  }

  private entry(meetingId: string): MeetingMutes {
    let meeting = this.meetings.get(meetingId);
    if (!meeting) this.meetings.set(meetingId, (meeting = { participantsMayUnmute: true, muted: new Map(), touchedAt: 0 }));
    meeting.touchedAt = Date.now();
    return meeting;
  }
}
