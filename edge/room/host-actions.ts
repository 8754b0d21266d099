import { AppError } from '../../schema/wire/errors.js';
import type { RoomClientMessage } from '../../schema/wire/room.js';
import { isModerator, participantView, type Participant } from './participants.js';
import type { Room } from './room.js';

type HostMessage = Extract<RoomClientMessage, { type: `host.${string}` }>;

/** Only the host and co-hosts moderate; the DO checks it on every action. */
export function requireModerator(actor: Participant): void {
  if (!isModerator(actor)) throw new AppError('NOT_HOST', 'only the host or a co-host can do this');
}

/** The target must be someone in the meeting now; nobody acts on the host. */
function targetInMeeting(room: Room, participantId: string): Participant {
  const target = room.participants.get(participantId);
  if (!target || target.status !== 'joined') throw new AppError('PARTICIPANT_NOT_FOUND', 'no such participant in the meeting');
  if (target.role === 'host') throw new AppError('FORBIDDEN', 'the host cannot be moderated');
  return target;
}

export async function handleHostAction(room: Room, actor: Participant, message: HostMessage): Promise<void> {
  requireModerator(actor);
  const linkId = room.meeting.settings()!.linkId;
  switch (message.type) {
    case 'host.remove': {
      const target = targetInMeeting(room, message.participantId);
      // leave() bans the user/guest identity and kills the session in one transaction.
      await room.leave(target, 'removed');
      room.sockets.closeParticipant(target.participantId, 'REMOVED_BY_HOST', 'the host removed you from this meeting');
      await room.commandNode({ command: 'closeParticipant', meetingId: linkId, participantId: target.participantId, reason: 'removed by host' });
      return;
    }
    case 'host.mute': {
      const target = targetInMeeting(room, message.participantId);
      await room.change(() => {
        room.participants.setMutedByHost(target.participantId, message.kind);
        room.record({ kind: 'analytics', event: 'muted_by_host', participantId: target.participantId, props: { kind: message.kind ?? 'all', by: actor.participantId } });
      });
      await room.commandNode({ command: 'muteParticipant', meetingId: linkId, participantId: target.participantId, ...(message.kind ? { kind: message.kind } : {}) });
      room.sockets.sendTo(target.participantId, { type: 'muted', kind: message.kind ?? null, by: actor.participantId });
      room.broadcastParticipant(target.participantId);
      return;
    }
    case 'host.setRole': {
      if (actor.role !== 'host') throw new AppError('NOT_HOST', 'only the host can change roles');
      const target = targetInMeeting(room, message.participantId);
      const role = message.role === 'cohost' ? 'cohost' : target.userId ? 'participant' : 'guest';
      room.participants.setRole(target.participantId, role);
      room.broadcastParticipant(target.participantId);
      // A new co-host needs the waiting list it now manages.
      room.broadcastWaiting();
      return;
    }
    case 'host.admit':
      return admit(room, message.participantId);
    case 'host.deny': {
      const target = room.participants.get(message.participantId);
      if (!target || target.status !== 'waiting') throw new AppError('PARTICIPANT_NOT_FOUND', 'nobody with that id is waiting');
      await room.change(() => {
        room.participants.setStatus(target.participantId, 'denied', Date.now());
        room.record({ kind: 'analytics', event: 'denied', participantId: target.participantId, props: { by: actor.participantId } });
      });
      room.sockets.closeParticipant(target.participantId, 'ADMISSION_DENIED', 'the host did not let you in');
      room.broadcastWaiting();
      return;
    }
    case 'host.lock':
      room.meeting.setLocked(message.locked);
      room.broadcastMeeting();
      return;
    case 'host.end':
      return room.end(`ended by ${actor.role}`);
  }
}

/**
 * Lets a waiting participant in — or lifts a removal, so that person may join again (their old
 * session stays dead; they come back through a new join).
 */
async function admit(room: Room, participantId: string): Promise<void> {
  const target = room.participants.get(participantId);
  if (target?.status === 'removed') {
    room.participants.unban(participantId);
    return;
  }
  if (!target || target.status !== 'waiting') throw new AppError('PARTICIPANT_NOT_FOUND', 'nobody with that id is waiting');
  room.checkCapacity();
  await room.ensureAssignment([]);
  // Re-read after the placement await: the host may have denied them meanwhile.
  const still = room.participants.get(participantId);
  if (still?.status !== 'waiting') throw new AppError('PARTICIPANT_NOT_FOUND', 'nobody with that id is waiting');
  room.checkCapacity();
  const now = Date.now();
  const admitted = await room.change(() => {
    room.participants.setStatus(participantId, 'joined', now);
    const joined = room.participants.get(participantId)!;
    room.record({ kind: 'analytics', event: 'admitted', participantId, props: {} }, now);
    room.recordJoined(joined, now);
    return joined;
  });
  await room.timers.clearIfSet('release');
  room.sockets.broadcast({ type: 'participant.joined', participant: participantView(admitted) });
  room.sockets.setAdmitted(participantId);
  for (const ws of room.sockets.of(participantId)) {
    room.sockets.send(ws, { type: 'admitted' });
    await room.welcome(ws, admitted);
  }
  room.broadcastWaiting();
}
