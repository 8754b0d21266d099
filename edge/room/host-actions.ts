import { assertNever } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import type { RoomClientMessage } from '../../schema/wire/room.js';
import { admitWaiting } from './admission.js';
import { welcome } from './connect.js';
import { end, leave } from './departure.js';
import type { RoomMedia } from './media.js';
import { isModerator, type Participant } from './participants.js';
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

/** Moderation: what the host and co-hosts may do to others and to the meeting. */
export async function handleHostAction(room: Room, media: RoomMedia, actor: Participant, message: HostMessage): Promise<void> {
  requireModerator(actor);
  const linkId = room.linkId();
  switch (message.type) {
    case 'host.remove': {
      const target = targetInMeeting(room, message.participantId);
      // leave() bans the user/guest identity and kills the session in one transaction.
      await leave(room, media, target, 'removed');
      room.sockets.closeParticipant(target.participantId, 'REMOVED_BY_HOST', 'the host removed you from this meeting');
      await media.commandNode({ command: 'closeParticipant', meetingId: linkId, participantId: target.participantId, reason: 'removed by host' });
      return;
    }
    case 'host.mute': {
      const target = targetInMeeting(room, message.participantId);
      await room.change(() => {
        room.participants.setMutedByHost(target.participantId, message.kind);
        room.record({ kind: 'analytics', event: 'muted_by_host', participantId: target.participantId, props: { kind: message.kind ?? 'all', by: actor.participantId } });
      });
      await media.commandNode({ command: 'muteParticipant', meetingId: linkId, participantId: target.participantId, ...(message.kind ? { kind: message.kind } : {}) });
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
      return admit(room, media, message.participantId);
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
      room.meeting.setLocked(message.locked, Date.now());
      room.broadcastMeeting();
      return;
    case 'host.end':
      return end(room, media, `ended by ${actor.role}`);
    default:
      return assertNever(message, 'host action');
  }
}

/**
 * Lets a waiting participant in (through admission, as every entry) — or lifts a removal, so that
 * person may join again (their old session stays dead; they come back through a new join).
 */
async function admit(room: Room, media: RoomMedia, participantId: string): Promise<void> {
  if (room.participants.get(participantId)?.status === 'removed') {
    room.bans.unban(participantId);
    return;
  }
  const admitted = await admitWaiting(room, media, participantId);
  room.sockets.setAdmitted(participantId);
  for (const ws of room.sockets.of(participantId)) {
    room.sockets.send(ws, { type: 'admitted' });
    await welcome(room, media, ws, admitted);
  }
  room.broadcastWaiting();
}
