import type { Role } from '../../schema/wire/common.js';
import type { RoomMedia } from './media.js';
import { OUT_BRIEFLY_MS, type Participant } from './participants.js';
import { changeRole } from './role-change.js';
import type { Room } from './room.js';

/** Who takes over from a host who left: a co-host first, then signed-in people, then guests. */
const SUCCESSION: readonly Role[] = ['cohost', 'participant', 'guest'];

/**
 * No host in the meeting any more (they left, and were out longer than a blip: called when their
 * media is let go): someone must still be able to let the waiting room in, remove someone and end
 * the meeting. As Zoom does, host goes to a co-host, else to whoever has been in longest; never to
 * a webinar's audience. Nobody left who may take it: nothing changes.
 */
export async function handOverHost(room: Room, media: RoomMedia, now: number): Promise<void> {
  if (!room.configured || room.meeting.ended() || room.participants.joinedWithRole(['host']).length > 0) return;
  // Only after a host was in and has been out longer than a blip (their own let-go asks again);
  // a meeting its host never came to keeps running as it was.
  const hostsOut = room.participants.withStatus('left').filter((p) => p.role === 'host' && p.leftAt !== null);
  const lastHostOut = Math.max(0, ...hostsOut.map((p) => p.leftAt!));
  if (lastHostOut === 0 || now - lastHostOut < OUT_BRIEFLY_MS) return;
  // Someone who took over earlier and left is a co-host if they come back: one host at a time.
  const ownerId = room.openSettings().hostUserId;
  for (const acting of hostsOut) if (acting.userId !== ownerId) room.participants.setRole(acting.participantId, 'cohost');
  const successor = room.participants
    .joinedWithRole(SUCCESSION)
    .sort((a, b) => SUCCESSION.indexOf(a.role) - SUCCESSION.indexOf(b.role) || a.joinedAt - b.joinedAt)
    .at(0);
  if (successor) await changeRole(room, media, successor, 'host');
}

/**
 * The meeting's owner is back in as host: whoever took over meanwhile is a co-host again (they ran
 * the meeting; one host, as in Zoom when the original host returns).
 */
export async function returnHostToOwner(room: Room, media: RoomMedia): Promise<void> {
  if (!room.configured || room.meeting.ended()) return;
  const ownerId = room.openSettings().hostUserId;
  const hosts = room.participants.joinedWithRole(['host']);
  if (!hosts.some((p) => p.userId === ownerId)) return;
  for (const acting of hosts.filter((p: Participant) => p.userId !== ownerId)) await changeRole(room, media, acting, 'cohost');
}
