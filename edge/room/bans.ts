import type { Participant } from './participants.js';

/** Storage of the bans a removal puts in place, and of what each participant is known by. */
export const BANS_TABLE = 'bans';
export const IDENTITIES_TABLE = 'participant_identities';

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
 * Bans of one meeting (RoomDO storage): a removal bars every identity the removed participant
 * came with, until the host lifts it. Admission (admission.ts) asks before every seat.
 */
export class Bans {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${BANS_TABLE} (identity TEXT PRIMARY KEY, participant_id TEXT NOT NULL, at INTEGER NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS ${IDENTITIES_TABLE} (participant_id TEXT NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (participant_id, identity))`);
  }

  /** Keeps what a new participant is known by, for a later removal (and its reconnects) to bar. */
  remember(participantId: string, identities: readonly string[]): void {
    for (const identity of new Set(identities)) {
      this.sql.exec(`INSERT OR IGNORE INTO ${IDENTITIES_TABLE} (participant_id, identity) VALUES (?, ?)`, participantId, identity);
    }
  }

  /** Everything this participant is known by. */
  identitiesOf(participant: Participant): string[] {
    const known = this.sql
      .exec<{ identity: string }>(`SELECT identity FROM ${IDENTITIES_TABLE} WHERE participant_id = ?`, participant.participantId)
      .toArray()
      .map((row) => row.identity);
    return [...new Set([identityOf(participant), ...known])];
  }

  ban(participant: Participant, now: number): void {
    for (const identity of this.identitiesOf(participant)) {
      this.sql.exec(
        `INSERT INTO ${BANS_TABLE} (identity, participant_id, at) VALUES (?, ?, ?) ON CONFLICT (identity) DO UPDATE SET participant_id = excluded.participant_id, at = excluded.at`,
        identity,
        participant.participantId,
        now,
      );
    }
  }

  /** Lifts the bans a removal of this participant put in place. */
  unban(participantId: string): void {
    this.sql.exec(`DELETE FROM ${BANS_TABLE} WHERE participant_id = ?`, participantId);
  }

  isBanned(identities: readonly string[]): boolean {
    if (identities.length === 0) return false;
    return this.sql.exec(`SELECT 1 FROM ${BANS_TABLE} WHERE identity IN (${identities.map(() => '?').join(', ')}) LIMIT 1`, ...identities).toArray().length > 0;
  }
}
