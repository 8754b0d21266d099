import { sha256Hex } from '../auth/encoding.js';
import type { Participant } from './participants.js';

/** Storage of the bars a removal or a denial puts in place, and of what each participant is known by. */
export const BANS_TABLE = 'bans';
export const IDENTITIES_TABLE = 'participant_identities';

/**
 * A removal bars the person from the meeting until the host lifts it. A denial bars them from
 * knocking (or joining) again until the host admits them; it does not touch anyone already in.
 */
export type BarKind = 'removed' | 'denied';

/** What a joining person is known by, beyond their user id or name. */
export interface JoinMarks {
  userId: string | null;
  displayName: string;
  /** identity of the browser's own key (deviceIdentity), if it sent one. */
  device?: string | null | undefined;
}

/**
 * The per-browser key a client keeps (localStorage), as the room stores it: hashed with the
 * meeting, so storage holds no key a browser could present, and two meetings' rows do not link.
 */
export async function deviceIdentity(linkId: string, guestKey: string): Promise<string> {
  return `device:${await sha256Hex(`${linkId}:${guestKey}`)}`;
}

/** A name as a guest identity: case and compatibility forms folded ("Ｍallory" is "mallory"). */
function nameIdentity(displayName: string): string {
  return `guest:${displayName.normalize('NFKC').trim().toLowerCase()}`;
}

/** Whom a removal bars by default: a signed-in user by id, a guest by the name they joined with. */
export function identityOf(participant: { userId: string | null; displayName: string }): string {
  return participant.userId ? `user:${participant.userId}` : nameIdentity(participant.displayName);
}

/**
 * Account and browser identify a person; a name is only a hint, and keeps out newcomers who
 * are guests (admission.ts), never someone already in and never a signed-in user.
 */
export function isStrongIdentity(identity: string): boolean {
  return identity.startsWith('user:') || identity.startsWith('device:');
}

/**
 * All a bar covers. A signed-in user: the account, the browser, and their name as a guest name (so
 * they cannot sign out and come back as a guest under it). A guest: the name and the browser.
 * Never the network: one address is shared by everyone behind a NAT.
 */
export function identitiesOf(marks: JoinMarks): string[] {
  const device = marks.device ? [marks.device] : [];
  if (marks.userId) return [identityOf(marks), nameIdentity(marks.displayName), ...device];
  return [identityOf(marks), ...device];
}

/** Rooms stored before: network bans (`net:`) no longer bar anyone. */
const LEGACY_IDENTITY = (identity: string) => identity.startsWith('net:');

/**
 * Bars of one meeting (RoomDO storage), keyed by identity: a removal or denial bars every identity
 * the participant came with, until the host lifts it. Admission (admission.ts) asks before every seat.
 */
export class Bans {
  /**
   * Whether the table holds any bar (undefined: ask it). Most meetings never bar anyone, and
   * every join asks twice; bars are written only here, and forget() covers a rolled-back transaction.
   */
  private anyBar: boolean | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${BANS_TABLE} (identity TEXT PRIMARY KEY, participant_id TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL DEFAULT 'removed')`);
    sql.exec(`CREATE TABLE IF NOT EXISTS ${IDENTITIES_TABLE} (participant_id TEXT NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (participant_id, identity))`);
    const columns = sql.exec<{ name: string }>(`PRAGMA table_info(${BANS_TABLE})`).toArray();
    if (!columns.some((column) => column.name === 'kind')) sql.exec(`ALTER TABLE ${BANS_TABLE} ADD COLUMN kind TEXT NOT NULL DEFAULT 'removed'`);
    sql.exec(`DELETE FROM ${BANS_TABLE} WHERE identity LIKE 'net:%'`);
  }

  /** Reads the table again next time (a transaction that wrote it rolled back). */
  forget(): void {
    this.anyBar = undefined;
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
      .map((row) => row.identity)
      .filter((identity) => !LEGACY_IDENTITY(identity));
    return [...new Set([identityOf(participant), ...known])];
  }

  /** The account and browser this participant came with (what ties their sessions together). */
  strongIdentitiesOf(participant: Participant): string[] {
    return this.identitiesOf(participant).filter(isStrongIdentity);
  }

  /**
   * Removes: bars every identity of the participant. `owner` is whose removal this is (the one the
   * host removed, also for their other sessions), so lifting it lifts them all.
   */
  ban(participant: Participant, now: number, owner = participant.participantId): void {
    this.anyBar = undefined;
    for (const identity of this.identitiesOf(participant)) {
      this.sql.exec(
        `INSERT INTO ${BANS_TABLE} (identity, participant_id, at, kind) VALUES (?, ?, ?, 'removed')
         ON CONFLICT (identity) DO UPDATE SET participant_id = excluded.participant_id, at = excluded.at, kind = 'removed'`,
        identity,
        owner,
        now,
      );
    }
  }

  /** Denies: bars knocking again; a removal already in place stays a removal. */
  deny(participant: Participant, now: number, owner = participant.participantId): void {
    this.anyBar = undefined;
    for (const identity of this.identitiesOf(participant)) {
      this.sql.exec(`INSERT INTO ${BANS_TABLE} (identity, participant_id, at, kind) VALUES (?, ?, ?, 'denied') ON CONFLICT (identity) DO NOTHING`, identity, owner, now);
    }
  }

  /** Lifts the bars a removal or denial of this participant put in place, and any on what they are known by. */
  lift(participant: Participant): void {
    this.anyBar = undefined;
    const identities = this.identitiesOf(participant);
    this.sql.exec(
      `DELETE FROM ${BANS_TABLE} WHERE participant_id = ? OR identity IN (${identities.map(() => '?').join(', ')})`,
      participant.participantId,
      ...identities,
    );
  }

  /** The host admitted someone: denials of anything they are known by no longer apply. */
  liftDenials(identities: readonly string[]): void {
    if (identities.length === 0) return;
    this.anyBar = undefined;
    this.sql.exec(`DELETE FROM ${BANS_TABLE} WHERE kind = 'denied' AND identity IN (${identities.map(() => '?').join(', ')})`, ...identities);
  }

  /** The strongest bar on any of these identities (a removal over a denial), or null. */
  barOf(identities: readonly string[]): BarKind | null {
    if (identities.length === 0) return null;
    this.anyBar ??= this.sql.exec(`SELECT 1 FROM ${BANS_TABLE} LIMIT 1`).toArray().length > 0;
    if (!this.anyBar) return null;
    const kinds = this.sql
      .exec<{ kind: string }>(`SELECT DISTINCT kind FROM ${BANS_TABLE} WHERE identity IN (${identities.map(() => '?').join(', ')})`, ...identities)
      .toArray()
      .map((row) => row.kind);
    if (kinds.includes('removed')) return 'removed';
    return kinds.includes('denied') ? 'denied' : null;
  }

  /** Whether this participant's account or browser is now barred by a removal. */
  isRemoved(participant: Participant): boolean {
    return this.barOf(this.strongIdentitiesOf(participant)) === 'removed';
  }
}
