import type { MediaKind } from '../../schema/wire/common.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import type { RoomMedia } from './media.js';
import type { Participant } from './participants.js';
import type { Room } from './room.js';

/**
 * Host mute is enforced on the media node: it pauses the producers there and, while the meeting's
 * policy says people may not unmute themselves, refuses to resume (or re-produce) them. Each mute
 * carries the policy, so a node that missed a policy change learns it with the next mute.
 */
export async function hostMute(room: Room, media: RoomMedia, actor: Participant, target: Participant, kind: MediaKind | undefined): Promise<void> {
  const alreadyMuted = (kind === 'video' || target.mutedAudio) && (kind === 'audio' || target.mutedVideo);
  if (!alreadyMuted) {
    await room.change(() => {
      room.participants.setMutedByHost(target.participantId, kind);
      room.record({ kind: 'analytics', event: 'muted_by_host', participantId: target.participantId, props: { kind: kind ?? 'all', by: actor.participantId } });
    });
  }
  await media.commandNode({
    command: 'muteParticipant',
    meetingId: room.linkId(),
    participantId: target.participantId,
    ...(kind ? { kind } : {}),
    participantsMayUnmute: room.meeting.participantsMayUnmute(),
  });
  room.sockets.sendTo(target.participantId, { type: 'muted', kind: kind ?? null, by: actor.participantId });
  if (!alreadyMuted) room.broadcastParticipant(target.participantId);
}

/** host.allowUnmute: the meeting's policy, told to the node (which enforces it) and to everyone. */
export async function setParticipantsMayUnmute(room: Room, media: RoomMedia, allowed: boolean): Promise<void> {
  const changed = room.meeting.participantsMayUnmute() !== allowed;
  room.meeting.setParticipantsMayUnmute(allowed);
  await media.commandNode({ command: 'setUnmutePolicy', meetingId: room.linkId(), participantsMayUnmute: allowed });
  if (changed) room.broadcastMeeting();
}

/** The node let a host-muted participant unmute a kind themselves: the room stops showing it muted. */
export function onParticipantUnmuted(room: Room, event: Extract<NodeEvent, { event: 'participantUnmuted' }>): void {
  const participant = room.participants.get(event.participantId);
  if (!participant || participant.status !== 'joined') return;
  const muted = event.kind === 'audio' ? participant.mutedAudio : participant.mutedVideo;
  if (!muted) return;
  room.participants.clearMutedByHost(participant.participantId, event.kind);
  room.broadcastParticipant(participant.participantId);
}

/**
 * The meeting landed on a node (first placement or a move): host mutes live on the node, so a new
 * node learns them, with the meeting's unmute policy, before anyone is sent there.
 */
export async function replayHostMutes(room: Room, media: RoomMedia): Promise<void> {
  const participantsMayUnmute = room.meeting.participantsMayUnmute();
  const muted = room.participants.withStatus('joined').filter((p) => p.mutedAudio || p.mutedVideo);
  for (const participant of muted) {
    const kind = participant.mutedAudio && participant.mutedVideo ? undefined : participant.mutedAudio ? 'audio' : 'video';
    await media.commandNode({ command: 'muteParticipant', meetingId: room.linkId(), participantId: participant.participantId, ...(kind ? { kind } : {}), participantsMayUnmute });
  }
  // A node assumes people may unmute; only the stricter policy needs saying.
  if (muted.length === 0 && !participantsMayUnmute) {
    await media.commandNode({ command: 'setUnmutePolicy', meetingId: room.linkId(), participantsMayUnmute });
  }
}
