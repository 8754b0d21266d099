import type { Role } from '../../schema/wire/common.js';
import { welcome } from './connect.js';
import { permissionsOf, type RoomMedia } from './media.js';
import { isModerator, type Participant } from './participants.js';
import type { Room } from './room.js';

/**
 * Gives `target` (in the meeting) the role: everyone's roster, the waiting list for moderators,
 * the node's permissions and, into or out of a webinar's audience, a media token for it. The
 * host's host.setRole, and the host's hand-over (host-handover.ts).
 */
export async function changeRole(room: Room, media: RoomMedia, target: Participant, role: Role): Promise<void> {
  if (role === target.role) return;
  room.participants.setRole(target.participantId, role);
  // Invited to speak: the raised hand was the ask, and it is answered.
  if (target.role === 'attendee' && role !== 'attendee' && target.handRaised) room.participants.setHand(target.participantId, false);
  // Everyone: into the audience, out of it, or a co-host — every client's roster follows.
  room.broadcastParticipant(target.participantId, true);
  // A new co-host needs the waiting list it now manages.
  room.broadcastWaiting();
  // In a webinar only moderators see the audience: whoever becomes or stops being one gets
  // the roster their role sees (their media session stays as it is).
  const changed = room.participants.get(target.participantId);
  if (changed && room.meeting.settings()?.mode === 'webinar' && isModerator(target) !== isModerator(changed)) {
    for (const ws of room.sockets.of(target.participantId)) await welcome(room, media, ws, changed);
  }
  // The node holds them to the new role at once, whatever their token says (a speaker sent
  // back to the audience stops sending now).
  await media.commandNode({ command: 'setPermissions', meetingId: room.linkId(), participantId: target.participantId, permissions: permissionsOf(role), changedAt: Date.now() });
  // Into or out of a webinar's audience: their media session needs a token for the new role
  // (the client starts a new session with it).
  if ((target.role === 'attendee') !== (role === 'attendee') && room.sockets.isConnected(target.participantId)) {
    const assignment = await media.reissue({ ...target, role });
    if (assignment) room.sockets.sendTo(target.participantId, { type: 'media.assignment', media: assignment });
  }
}
