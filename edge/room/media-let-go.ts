import type { RoomMedia } from './media.js';
import { OUT_BRIEFLY_MS } from './participants.js';
import type { Room } from './room.js';

/**
 * A participant out of the room (their room socket closed, or never opened) keeps their media
 * session on the node: the room does not hold it. A page whose room socket blips comes back with
 * its session and media never stopped — but a client that drops the room socket on purpose, or
 * never opens it after taking its join's media token, would go on watching and listening while
 * everyone else sees them gone, and nobody could remove them. So once someone has been out this
 * long, the room tells the node to let their session go and refuse the tokens issued to them so
 * far; coming back (with their room session) brings a fresh token.
 */
export const MEDIA_LET_GO_MS = OUT_BRIEFLY_MS;

/** The deadline name (timers.ts), set at the earliest row of MediaLetGo (media-let-go-store.ts). */
export const LET_GO_TIMER = 'media-let-go';

/** The deadline: whoever is still out loses their media session and its tokens. */
export async function letGoDue(room: Room, media: RoomMedia, now: number): Promise<void> {
  for (const participantId of room.letGo.due(now)) {
    room.letGo.cancel(participantId);
    if (room.participants.get(participantId)?.status === 'joined') continue;
    await media.commandNode({ command: 'closeParticipant', meetingId: room.linkId(), participantId, reason: 'left the meeting', tokensIssuedBefore: Date.now() });
  }
  const next = room.letGo.next();
  if (next !== null) await room.timers.set(LET_GO_TIMER, next, true);
}
