import type { Role } from '../../schema/wire/common.js';

/*
 * Who may take a seat, as plain data: the lock and capacity rules of every way into a meeting.
 * admission.ts asks them for the RoomDO (after bars and the door's passcode and guest checks);
 * the peak-day simulation (scripts/sim) asks the same function.
 */

/**
 * The ways into the meeting. Each one passes checkAdmission; they differ only in which rules
 * apply (ENTRY_RULES).
 */
export type Entry =
  /** A new person, straight in (join). */
  | 'join'
  /** A new person into the waiting room (join with the waiting room on). */
  | 'queue'
  /** The host lets a waiting person in (host.admit). */
  | 'admit'
  /** Someone who was in comes back on their session after their socket dropped. */
  | 'return'
  /** Another socket of someone who holds a seat or a waiting place (a newer tab, a reconnect). */
  | 'resume';

/**
 * Bars (removals, denials) apply as admission.ts barringKind says. The lock keeps new people out, as in Zoom: a join or a knock. The
 * host's own admit overrides it (the host chose this person). A return after a dropped socket is
 * not a new person when they were in the meeting at the moment it was locked (they left after the
 * lock), so a network blip does not lock out the people the host meant to keep; whoever had
 * already left before the lock is new and stays out. Capacity counts everyone who takes a seat;
 * the waiting room does not take one. The host passes lock and capacity of their own meeting.
 * The passcode and the guest policy are asked at the door only (join): a room session is issued
 * after them and is itself the proof on return; keeping a person out is what removal (a ban) is for.
 */
const ENTRY_RULES: Record<Entry, { lock: 'applies' | 'unless-present-at-lock' | 'no'; capacity: boolean }> = {
  join: { lock: 'applies', capacity: true },
  queue: { lock: 'applies', capacity: false },
  admit: { lock: 'no', capacity: true },
  return: { lock: 'unless-present-at-lock', capacity: true },
  resume: { lock: 'no', capacity: false },
};

/** What the rules read of the room. `joined` is asked only where capacity applies. */
export interface SeatState {
  lockedAt: number | null;
  joined: () => number;
  maxParticipants: number;
}

/** What the rules read of the person: the role, and when they last went out (a return). */
export interface SeatCandidate {
  role: Role;
  leftAt?: number | null | undefined;
}

/** The lock's or the capacity's refusal of this candidate at this entry; null: a seat (or a place) is theirs. */
export function seatRefusal(state: SeatState, candidate: SeatCandidate, entry: Entry): 'MEETING_LOCKED' | 'MEETING_FULL' | null {
  if (candidate.role === 'host') return null;
  const rules = ENTRY_RULES[entry];
  if (state.lockedAt !== null && rules.lock !== 'no') {
    const presentAtLock = rules.lock === 'unless-present-at-lock' && candidate.leftAt != null && candidate.leftAt >= state.lockedAt;
    if (!presentAtLock) return 'MEETING_LOCKED';
  }
  if (rules.capacity && state.joined() >= state.maxParticipants) return 'MEETING_FULL';
  return null;
}
