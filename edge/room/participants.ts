import type { Role } from '../../schema/wire/common.js';
import type { MediaKind } from '../../schema/wire/common.js';
import type { ParticipantView, WaitingParticipant } from '../../schema/wire/room.js';

export type ParticipantStatus = 'waiting' | 'joined' | 'left' | 'removed' | 'denied';

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
};

export interface NewParticipant {
  participantId: string;
  sessionHash: string;
  userId: string | null;
  displayName: string;
  role: Role;
  status: 'waiting' | 'joined';
  now: number;
  /** Everything a removal of this person bars (identitiesOf). */
  identities: string[];
}

/** What a joining person is known by, beyond their user id or name. */
export interface JoinMarks {
  userId: string | null;
  displayName: string;
  /** Random key the guest's browser keeps (localStorage). */
  guestKey?: string | undefined;
  /** Hash of the guest's client address, salted with the meeting (never the address itself). */
  networkHash?: string | undefined;
}

/** Whom a removal bars: a signed-in user by id, a guest by the name they joined with. */
export function identityOf(participant: { userId: string | null; displayName: string }): string {
  return participant.userId ? `user:${participant.userId}` : `guest:${participant.displayName.trim().toLowerCase()}`;
}

/**
 * All a removal bars. A signed-in user: the account. A guest: the name, the browser's key and the
 * network they came from, so a new name or a cleared browser does not get them back in. (Other
 * guests behind the same address are barred too; signed-in users never are by address.)
 */
export function identitiesOf(marks: JoinMarks): string[] {
  if (marks.userId) return [identityOf(marks)];
  return [identityOf(marks), ...(marks.guestKey ? [`device:${marks.guestKey}`] : []), ...(marks.networkHash ? [`net:${marks.networkHash}`] : [])];
}

/**
 * Participants of one meeting (RoomDO storage): who is in, who waits, who was removed, and the
 * bans that keep removed people out until the host admits them again. Room sessions are stored
 * only as SHA-256 hashes.
 */
export class Participants {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS participants (
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
      was_admitted INTEGER NOT NULL DEFAULT 0
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS participants_by_status ON participants (status)');
    sql.exec('CREATE INDEX IF NOT EXISTS participants_by_user ON participants (user_id)');
    sql.exec(`CREATE TABLE IF NOT EXISTS bans (identity TEXT PRIMARY KEY, participant_id TEXT NOT NULL, at INTEGER NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS participant_identities (participant_id TEXT NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (participant_id, identity))`);
  }

  insert(p: NewParticipant): Participant {
    this.sql.exec(
      `INSERT INTO participants (participant_id, session_hash, user_id, display_name, role, status, joined_at, waiting_since, was_admitted)
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
    for (const identity of new Set(p.identities)) {
      this.sql.exec('INSERT OR IGNORE INTO participant_identities (participant_id, identity) VALUES (?, ?)', p.participantId, identity);
    }
    return this.get(p.participantId)!;
  }

  get(participantId: string): Participant | null {
    const row = this.sql.exec<ParticipantRow>('SELECT * FROM participants WHERE participant_id = ?', participantId).toArray()[0];
    return row ? toParticipant(row) : null;
  }

  bySession(sessionHash: string): Participant | null {
    const row = this.sql.exec<ParticipantRow>('SELECT * FROM participants WHERE session_hash = ?', sessionHash).toArray()[0];
    return row ? toParticipant(row) : null;
  }

  withStatus(status: ParticipantStatus): Participant[] {
    return this.sql.exec<ParticipantRow>('SELECT * FROM participants WHERE status = ? ORDER BY joined_at, participant_id', status).toArray().map(toParticipant);
  }

  count(status: ParticipantStatus): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM participants WHERE status = ?', status).one().n;
  }

  setStatus(participantId: string, status: ParticipantStatus, now: number): void {
    this.sql.exec(
      `UPDATE participants SET status = ?, hand_raised = CASE WHEN ? = 'joined' THEN hand_raised ELSE 0 END,
         joined_at = CASE WHEN ? = 'joined' AND status <> 'joined' THEN ? ELSE joined_at END,
         was_admitted = CASE WHEN ? = 'joined' THEN 1 ELSE was_admitted END
       WHERE participant_id = ?`,
      status,
      status,
      status,
      now,
      status,
      participantId,
    );
  }

  setRole(participantId: string, role: Role): void {
    this.sql.exec('UPDATE participants SET role = ? WHERE participant_id = ?', role, participantId);
  }

  setHand(participantId: string, raised: boolean): void {
    this.sql.exec('UPDATE participants SET hand_raised = ? WHERE participant_id = ?', raised ? 1 : 0, participantId);
  }

  setMutedByHost(participantId: string, kind: MediaKind | undefined): void {
    if (kind !== 'video') this.sql.exec('UPDATE participants SET muted_audio = 1 WHERE participant_id = ?', participantId);
    if (kind !== 'audio') this.sql.exec('UPDATE participants SET muted_video = 1 WHERE participant_id = ?', participantId);
  }

  ban(participant: Participant, now: number): void {
    const known = this.sql
      .exec<{ identity: string }>('SELECT identity FROM participant_identities WHERE participant_id = ?', participant.participantId)
      .toArray()
      .map((row) => row.identity);
    for (const identity of new Set([identityOf(participant), ...known])) {
      this.sql.exec(
        'INSERT INTO bans (identity, participant_id, at) VALUES (?, ?, ?) ON CONFLICT (identity) DO UPDATE SET participant_id = excluded.participant_id, at = excluded.at',
        identity,
        participant.participantId,
        now,
      );
    }
  }

  /** Lifts the bans a removal of this participant put in place. */
  unban(participantId: string): void {
    this.sql.exec('DELETE FROM bans WHERE participant_id = ?', participantId);
  }

  isBanned(identities: readonly string[]): boolean {
    if (identities.length === 0) return false;
    return this.sql.exec(`SELECT 1 FROM bans WHERE identity IN (${identities.map(() => '?').join(', ')}) LIMIT 1`, ...identities).toArray().length > 0;
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
