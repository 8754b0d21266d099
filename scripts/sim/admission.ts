import { seatRefusal } from '../../edge/room/seat-rules.js';
import type { Refusal } from './meters.js';

/**
 * The RoomDO's admission for a join: an ended meeting refuses (its openSettings), then the room's
 * own seat rules (edge/room/seat-rules.ts, which admission.ts asks) decide — a full meeting refuses
 * everyone but the host. Passcodes, guests, bans and the lock are per-person settings the
 * simulation does not vary: no meeting is locked.
 */
export interface AdmissionState {
  ended: boolean;
  joined: number;
  maxParticipants: number;
  isHost: boolean;
}

export function admissionRefusal(state: AdmissionState): Refusal | null {
  if (state.ended) return 'MEETING_ENDED';
  const refusal = seatRefusal({ lockedAt: null, joined: () => state.joined, maxParticipants: state.maxParticipants }, { role: state.isHost ? 'host' : 'guest' }, 'join');
  // No meeting is locked here, so the lock never refuses.
  return refusal === 'MEETING_FULL' ? 'MEETING_FULL' : null;
}

/** A Durable Object serves about this many requests per second; beyond it requests are refused. */
export const DO_REQUESTS_PER_SECOND = 1_000;
