import type { MediaKind, Role } from '../../schema/wire/common.js';
import type { ParticipantView, WaitingParticipant } from '../../schema/wire/room.js';

/** Storage of the participants (one row per join; a reconnect reuses its row). */
export const PARTICIPANTS_TABLE = 'participants';

export type ParticipantStatus = 'waiting' | 'joined' | 'left' | 'removed' | 'denied';

/**
 * Out of the room no longer than this and back (a room-socket blip, a reload, a laptop lid): the
 * same presence — a raised hand is still up (its place in the host's queue kept), and the media
 * session is still theirs (media-let-go.ts). Longer, and they come back as anew.
 */
export const OUT_BRIEFLY_MS = 30_000;

/** The deadline (timers.ts) at which a host who left is handed over from, if still out (host-handover.ts). */
export const HOST_HANDOVER_TIMER = 'host-handover';

export interface Participant {
  participantId: string;
  userId: string | null;
  displayName: string;
  role: Role;
  status: ParticipantStatus;
  handRaised: boolean;
  mutedAudio: boolean;
  mutedVideo: boolean;
  joinedAt: number;
  waitingSince: number | null;
  /** Was in the meeting at some point (a dropped socket may come back; a waiting one may not). */
  wasAdmitted: boolean;
  /** When they last went out of the meeting (null while in, or never in). */
  leftAt: number | null;
}

type ParticipantRow = {
  participant_id: string;
  user_id: string | null;
  display_name: string;
  role: Role;
  status: ParticipantStatus;
  hand_raised: number;
  muted_audio: number;
  muted_video: number;
  joined_at: number;
  waiting_since: number | null;
  was_admitted: number;
  left_at: number | null;
};

export interface NewParticipant {
  participantId: string;
  sessionHash: string;
  userId: string | null;
  displayName: string;
  role: Role;
  status: 'waiting' | 'joined';
  now: number;
}

/**
 * Participants of one meeting (RoomDO storage): who is in, who waits, who left or was removed.
 * Room sessions are stored only as SHA-256 hashes. (Bans: bans.ts.)
 */
export class Participants {
  /**
   * Rows read since their last write, by id: every room message reads its sender, and at a busy
   * room's chat rate that read was a tenth of the object's CPU. Every write here drops the row;
   * nothing else writes the table; forgetAll() covers a rolled-back transaction (room.change).
   */
  private readonly cached = new Map<string, Participant>();
  /**
   * How many participants have each status (null: count again). Admission counts the seats taken
   * twice per join; an insert keeps this in step, any other write drops it, as does forgetAll().
   */
  private counts: Map<ParticipantStatus, number> | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${PARTICIPANTS_TABLE} (
      participant_id TEXT PRIMARY KEY,
      session_hash TEXT NOT NULL UNIQUE,
      user_id TEXT,
      display_name TEXT NOT NULL,
      role TEXT NOT NULL,
      status TEXT NOT NULL,
      hand_raised INTEGER NOT NULL DEFAULT 0,
      muted_audio INTEGER NOT NULL DEFAULT 0,
      muted_video INTEGER NOT NULL DEFAULT 0,
      joined_at INTEGER NOT NULL,
      waiting_since INTEGER,
      was_admitted INTEGER NOT NULL DEFAULT 0,
      left_at INTEGER
    )`);
    // Rooms created before left_at existed get the column (their earlier departures stay unknown).
    const columns = sql.exec<{ name: string }>(`PRAGMA table_info(${PARTICIPANTS_TABLE})`).toArray();
    if (!columns.some((column) => column.name === 'left_at')) sql.exec(`ALTER TABLE ${PARTICIPANTS_TABLE} ADD COLUMN left_at INTEGER`);
    sql.exec(`CREATE INDEX IF NOT EXISTS participants_by_status ON ${PARTICIPANTS_TABLE} (status)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS participants_by_user ON ${PARTICIPANTS_TABLE} (user_id)`);
  }

  insert(p: NewParticipant): Participant {
    this.cached.delete(p.participantId);
    this.sql.exec(
      `INSERT INTO ${PARTICIPANTS_TABLE} (participant_id, session_hash, user_id, display_name, role, status, joined_at, waiting_since, was_admitted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      p.participantId,
      p.sessionHash,
      p.userId,
      p.displayName,
      p.role,
      p.status,
      p.now,
      p.status === 'waiting' ? p.now : null,
      p.status === 'joined' ? 1 : 0,
    );
    this.counts?.set(p.status, (this.counts.get(p.status) ?? 0) + 1);
    // The row just written, as a read would give it (the columns' defaults), without the read.
    const inserted: Participant = {
      participantId: p.participantId,
      userId: p.userId,
      displayName: p.displayName,
      role: p.role,
      status: p.status,
      handRaised: false,
      mutedAudio: false,
      mutedVideo: false,
      joinedAt: p.now,
      waitingSince: p.status === 'waiting' ? p.now : null,
      wasAdmitted: p.status === 'joined',
      leftAt: null,
    };
    this.cached.set(p.participantId, inserted);
    return { ...inserted };
  }

  get(participantId: string): Participant | null {
    let participant = this.cached.get(participantId);
    if (!participant) {
      const row = this.sql.exec<ParticipantRow>(`SELECT * FROM ${PARTICIPANTS_TABLE} WHERE participant_id = ?`, participantId).toArray()[0];
      if (!row) return null;
      participant = toParticipant(row);
      this.cached.set(participantId, participant);
    }
    // A copy: a caller changing what it got must not change what the next caller reads.
    return { ...participant };
  }

  /** Drops every cached row (a transaction that wrote some of them rolled back). */
  forgetAll(): void {
    this.cached.clear();
    this.counts = null;
  }

  bySession(sessionHash: string): Participant | null {
    const row = this.sql.exec<ParticipantRow>(`SELECT * FROM ${PARTICIPANTS_TABLE} WHERE session_hash = ?`, sessionHash).toArray()[0];
    return row ? toParticipant(row) : null;
  }

  withStatus(status: ParticipantStatus): Participant[] {
    return this.sql.exec<ParticipantRow>(`SELECT * FROM ${PARTICIPANTS_TABLE} WHERE status = ? ORDER BY joined_at, participant_id`, status).toArray().map(toParticipant);
  }

  /** Joined participants of these roles (a webinar's few presenters among thousands of attendees). */
  joinedWithRole(roles: readonly Role[]): Participant[] {
    return this.sql
      .exec<ParticipantRow>(`SELECT * FROM ${PARTICIPANTS_TABLE} WHERE status = 'joined' AND role IN (${roles.map(() => '?').join(', ')}) ORDER BY joined_at, participant_id`, ...roles)
      .toArray()
      .map(toParticipant);
  }

  count(status: ParticipantStatus): number {
    this.counts ??= new Map(
      this.sql.exec<{ status: ParticipantStatus; n: number }>(`SELECT status, count(*) AS n FROM ${PARTICIPANTS_TABLE} GROUP BY status`).toArray().map((row) => [row.status, row.n]),
    );
    return this.counts.get(status) ?? 0;
  }

  setStatus(participantId: string, status: ParticipantStatus, now: number): void {
    this.cached.delete(participantId);
    this.counts = null;
    this.sql.exec(
      // Out briefly (back within OUT_BRIEFLY_MS, ?4) is the same presence: a hand stays up (lowered
      // by a removal, a denial or a longer absence), and they have been in since they first came.
      `UPDATE ${PARTICIPANTS_TABLE} SET status = ?1,
         hand_raised = CASE WHEN ?1 = 'left' THEN hand_raised WHEN ?1 = 'joined' AND (status = 'joined' OR (status = 'left' AND left_at >= ?2 - ?4)) THEN hand_raised ELSE 0 END,
         joined_at = CASE WHEN ?1 = 'joined' AND status <> 'joined' AND NOT (status = 'left' AND left_at >= ?2 - ?4) THEN ?2 ELSE joined_at END,
         was_admitted = CASE WHEN ?1 = 'joined' THEN 1 ELSE was_admitted END,
         left_at = CASE WHEN ?1 = 'joined' THEN NULL WHEN status = 'joined' THEN ?2 ELSE left_at END
       WHERE participant_id = ?3`,
      status,
      now,
      participantId,
      OUT_BRIEFLY_MS,
    );
  }

  setRole(participantId: string, role: Role): void {
    this.cached.delete(participantId);
    this.sql.exec(`UPDATE ${PARTICIPANTS_TABLE} SET role = ? WHERE participant_id = ?`, role, participantId);
  }

  setHand(participantId: string, raised: boolean): void {
    this.cached.delete(participantId);
    this.sql.exec(`UPDATE ${PARTICIPANTS_TABLE} SET hand_raised = ? WHERE participant_id = ?`, raised ? 1 : 0, participantId);
  }

  /** The participant unmuted that kind themselves (the node allowed it). */
  clearMutedByHost(participantId: string, kind: MediaKind): void {
    this.cached.delete(participantId);
    this.sql.exec(`UPDATE ${PARTICIPANTS_TABLE} SET ${kind === 'audio' ? 'muted_audio' : 'muted_video'} = 0 WHERE participant_id = ?`, participantId);
  }

  setMutedByHost(participantId: string, kind: MediaKind | undefined): void {
    this.cached.delete(participantId);
    if (kind !== 'video') this.sql.exec(`UPDATE ${PARTICIPANTS_TABLE} SET muted_audio = 1 WHERE participant_id = ?`, participantId);
    if (kind !== 'audio') this.sql.exec(`UPDATE ${PARTICIPANTS_TABLE} SET muted_video = 1 WHERE participant_id = ?`, participantId);
  }
}

function toParticipant(row: ParticipantRow): Participant {
  return {
    participantId: row.participant_id,
    userId: row.user_id,
    displayName: row.display_name,
    role: row.role,
    status: row.status,
    handRaised: row.hand_raised === 1,
    mutedAudio: row.muted_audio === 1,
    mutedVideo: row.muted_video === 1,
    joinedAt: row.joined_at,
    waitingSince: row.waiting_since,
    wasAdmitted: row.was_admitted === 1,
    leftAt: row.left_at,
  };
}

export function participantView(p: Participant): ParticipantView {
  return {
    participantId: p.participantId,
    displayName: p.displayName,
    role: p.role,
    userId: p.userId,
    handRaised: p.handRaised,
    mutedByHost: { audio: p.mutedAudio, video: p.mutedVideo },
    joinedAt: p.joinedAt,
  };
}

export function waitingView(p: Participant): WaitingParticipant {
  return { participantId: p.participantId, displayName: p.displayName, userId: p.userId, since: p.waitingSince ?? p.joinedAt };
}

export const isModerator = (p: Participant): boolean => p.role === 'host' || p.role === 'cohost';
