import { assertNever, type Role } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import type { RoomClientMessage } from '../../schema/wire/room.js';
import { admitWaiting } from './admission.js';
import { welcome } from './connect.js';
import { end } from './departure.js';
import { permissionsOf, type RoomMedia } from './media.js';
import { hostMute, setParticipantsMayUnmute } from './mute.js';
import { changeRole } from './role-change.js';
import { isModerator, type Participant } from './participants.js';
import { denyWithOtherKnocks, removeWithOtherSessions } from './removal.js';
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

/**
 * Moderation: what the host and co-hosts may do to others and to the meeting. Ending it for
 * everyone and changing roles are the host's alone (as in Zoom; README "In a meeting").
 */
export async function handleHostAction(room: Room, media: RoomMedia, actor: Participant, message: HostMessage): Promise<void> {
  requireModerator(actor);
  switch (message.type) {
    case 'host.remove':
      // The removal bars the person's account and browser; their other sessions go with it.
      return removeWithOtherSessions(room, media, targetInMeeting(room, message.participantId));
    case 'host.mute':
      return hostMute(room, media, actor, targetInMeeting(room, message.participantId), message.kind);
    case 'host.allowUnmute':
      return setParticipantsMayUnmute(room, media, message.allowed);
    case 'host.setRole': {
      if (actor.role !== 'host') throw new AppError('NOT_HOST', 'only the host can change roles');
      const target = targetInMeeting(room, message.participantId);
      if (message.role === 'attendee' && room.meeting.settings()?.mode !== 'webinar') throw new AppError('FORBIDDEN', 'only a webinar has an audience to send people back to');
      const role: Role = message.role === 'cohost' ? 'cohost' : message.role === 'attendee' ? 'attendee' : target.userId ? 'participant' : 'guest';
      return changeRole(room, media, target, role);
    }
    case 'host.admit':
      return admit(room, media, message.participantId);
    case 'host.deny': {
      const target = room.participants.get(message.participantId);
      if (!target || target.status !== 'waiting') throw new AppError('PARTICIPANT_NOT_FOUND', 'nobody with that id is waiting');
      return denyWithOtherKnocks(room, target, actor.participantId);
    }
    case 'host.lock':
      room.meeting.setLocked(message.locked, Date.now());
      room.broadcastMeeting();
      return;
    case 'host.lowerHand':
      return lowerHand(room, targetInMeeting(room, message.participantId));
    case 'host.end':
      if (actor.role !== 'host') throw new AppError('NOT_HOST', 'only the host can end the meeting for everyone');
      return end(room, media, 'ended by host');
    default:
      return assertNever(message, 'host action');
  }
}

/** A moderator lowers someone's raised hand (answered, or taken care of); lowered already: nothing to do. */
async function lowerHand(room: Room, target: Participant): Promise<void> {
  if (!target.handRaised) return;
  await room.change(() => room.participants.setHand(target.participantId, false));
  room.broadcastParticipant(target.participantId);
}

/**
 * The host turned the waiting room off: whoever is waiting comes in, as a Zoom user expects (and as
 * anyone arriving now does). One that admission refuses (the meeting is full, locked) stays waiting.
 */
export async function admitEveryoneWaiting(room: Room, media: RoomMedia): Promise<void> {
  for (const waiting of [...room.waitingList()].sort((a, b) => (a.waitingSince ?? 0) - (b.waitingSince ?? 0))) {
    try {
      // As a join (the lock applies), not as the host's own admit of one person (it overrides the lock).
      await letIn(room, media, waiting.participantId, 'join');
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
    }
  }
}

/**
 * Lets a waiting participant in (through admission, as every entry) — or lifts a removal or a
 * denial, so that person may join or knock again (their old session stays dead; they come back
 * through a new join).
 */
async function admit(room: Room, media: RoomMedia, participantId: string): Promise<void> {
  const barred = room.participants.get(participantId);
  if (barred?.status === 'removed' || barred?.status === 'denied') {
    room.bans.lift(barred);
    return;
  }
  await letIn(room, media, participantId, 'admit');
}

/** A waiting participant comes in through admission at `entry`, and is told. */
async function letIn(room: Room, media: RoomMedia, participantId: string, entry: 'admit' | 'join'): Promise<void> {
  const admitted = await admitWaiting(room, media, participantId, entry);
  room.sockets.setAdmitted(participantId);
  for (const ws of room.sockets.of(participantId)) {
    room.sockets.send(ws, { type: 'admitted' });
    await welcome(room, media, ws, admitted);
  }
  room.broadcastWaiting();
}
