import type { Refusal } from './meters.js';

/**
 * The RoomDO's admission for a join, as edge/room/admission.ts decides it (checkAdmission with
 * entry 'join', after openSettings): an ended meeting refuses, a full one refuses everyone but the
 * host. Passcodes, guests, bans and the lock are per-person settings the simulation does not vary.
 * The room has no pure function for this yet; `admissionRefusal(state, candidate, entry)` exported
 * from edge/room/admission.ts would replace this file.
 */
export interface AdmissionState {
  ended: boolean;
  joined: number;
  maxParticipants: number;
  isHost: boolean;
}

export function admissionRefusal(state: AdmissionState): Refusal | null {
  if (state.ended) return 'MEETING_ENDED';
  if (state.isHost) return null;
  if (state.joined >= state.maxParticipants) return 'MEETING_FULL';
  return null;
}

/** A Durable Object serves about this many requests per second; beyond it requests are refused. */
export const DO_REQUESTS_PER_SECOND = 1_000;
