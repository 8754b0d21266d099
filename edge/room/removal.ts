import { leave } from './departure.js';
import type { RoomMedia } from './media.js';
import type { Participant } from './participants.js';
import type { Room } from './room.js';

/**
 * host.remove: the target is out and barred, and so is every other session of the same person
 * in the meeting (same account or same browser, followed transitively), under the target's one
 * removal — lifting it lets them all back. Their waiting sessions are told and closed; admission
 * refuses those from then on, and the host's waiting list no longer shows them.
 */
export async function removeWithOtherSessions(room: Room, media: RoomMedia, target: Participant): Promise<void> {
  const linkId = room.linkId();
  const done = new Set<string>();
  let next: Participant | undefined = target;
  while (next) {
    done.add(next.participantId);
    await leave(room, media, next, 'removed', target.participantId);
    room.sockets.closeParticipant(next.participantId, 'REMOVED_BY_HOST', 'the host removed you from this meeting');
    await media.commandNode({ command: 'closeParticipant', meetingId: linkId, participantId: next.participantId, reason: 'removed by host' });
    // Re-read after the awaits: whoever is still in and now barred is the same person.
    next = room.participants.withStatus('joined').find((p) => p.role !== 'host' && !done.has(p.participantId) && room.bans.isRemoved(p));
  }
  for (const waiting of room.participants.withStatus('waiting')) {
    if (room.bans.isRemoved(waiting)) room.sockets.closeParticipant(waiting.participantId, 'REMOVED_BY_HOST', 'the host removed you from this meeting');
  }
  // Their sessions that are out of the room may still hold media (media-let-go.ts): closed now.
  for (const participantId of room.letGo.pending()) {
    const gone = room.participants.get(participantId);
    if (!gone || gone.status === 'joined' || !room.bans.isRemoved(gone)) continue;
    room.letGo.cancel(participantId);
    await media.commandNode({ command: 'closeParticipant', meetingId: linkId, participantId, reason: 'removed by host' });
  }
  room.broadcastWaiting();
}

/**
 * host.deny: the target and their other knocks (same account or browser) are turned away and
 * barred from knocking or joining again until the host admits them (host.admit of the denied id
 * lifts it; admitting another session of theirs does too).
 */
export async function denyWithOtherKnocks(room: Room, target: Participant, actorId: string): Promise<void> {
  const strong = new Set(room.bans.strongIdentitiesOf(target));
  const denied = [target, ...room.participants.withStatus('waiting').filter((p) => p.participantId !== target.participantId && room.bans.strongIdentitiesOf(p).some((identity) => strong.has(identity)))];
  const now = Date.now();
  await room.change(() => {
    for (const participant of denied) {
      room.participants.setStatus(participant.participantId, 'denied', now);
      room.bans.deny(participant, now, target.participantId);
      room.record({ kind: 'analytics', event: 'denied', participantId: participant.participantId, props: { by: actorId } }, now);
    }
  });
  for (const participant of denied) room.sockets.closeParticipant(participant.participantId, 'ADMISSION_DENIED', 'the host did not let you in');
  room.broadcastWaiting();
}
