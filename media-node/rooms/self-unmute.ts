import type { types } from 'mediasoup';
import type { MediaKind } from '../../schema/wire/index.js';
import type { Participant } from './participant.js';
import type { Room } from './room.js';

export const HOST_MUTE_REASON = 'muted by host';

/**
 * A participant makes `kind` audible/visible again (`unmute` resumes a producer or creates one
 * unpaused), under the meeting's host-mute rules: refused (PERMISSION_DENIED) while the host muted
 * the kind and the policy forbids unmuting oneself; otherwise done, and a host mute it ends is
 * reported (room event 'participantUnmuted'). A host mute that arrives while it is under way wins:
 * the producer is paused again.
 */
export async function unmuteOwn(room: Room, participant: Participant, kind: MediaKind, unmute: () => Promise<types.Producer>): Promise<types.Producer> {
  const ticket = room.hostMutes.checkUnmute(room.meetingId, participant.id, kind);
  const producer = await unmute();
  const outcome = room.hostMutes.unmuted(room.meetingId, participant.id, kind, ticket);
  if (outcome === 'cleared') room.emit('participantUnmuted', participant.id, kind);
  if (outcome === 'overruled') await participant.mute(kind, HOST_MUTE_REASON);
  return producer;
}
