import type { LeaveReason } from '../../schema/wire/room.js';
import type { RoomMedia } from './media.js';
import { HOST_HANDOVER_TIMER, isModerator, OUT_BRIEFLY_MS, type Participant } from './participants.js';
import { LET_GO_TIMER, MEDIA_LET_GO_MS } from './media-let-go.js';
import { CONNECT_GRACE_MS, expectReturn, PRESENCE_TIMER } from './presence.js';
import { CONTINUE_TIMER } from './recording-failover.js';
import { armRecordingDeadline, recordingAtMeetingEnd } from './recording.js';
import type { Room } from './room.js';
import { RoomSockets } from './sockets.js';

/**
 * A joined participant is out (left, dropped, removed): state, history, everyone told. A removal
 * bars them under `banOwner`'s removal (their own, or the one the host removed when this is
 * another session of that person). Their message limits stay: a reconnect continues with them.
 */
export async function leave(room: Room, media: RoomMedia, participant: Participant, reason: LeaveReason, banOwner = participant.participantId): Promise<void> {
  const now = Date.now();
  const letGoAt = now + MEDIA_LET_GO_MS;
  await room.change(() => {
    room.participants.setStatus(participant.participantId, reason === 'removed' ? 'removed' : 'left', now);
    // A removal also bars the person (every identity they came with) from coming back, and closes
    // their media at once (removal.ts); anyone else out of the room loses it unless they return.
    if (reason === 'removed') {
      room.bans.ban(participant, now, banOwner);
      room.letGo.cancel(participant.participantId);
    } else room.letGo.schedule(participant.participantId, letGoAt);
    room.record({ kind: 'participantLeft', participantId: participant.participantId, reason }, now);
    room.record({ kind: 'analytics', event: reason === 'removed' ? 'removed' : 'leave', participantId: participant.participantId, props: { reason } }, now);
  });
  if (reason !== 'removed') await room.timers.set(LET_GO_TIMER, letGoAt, true);
  // A host out longer than a blip hands over (host-handover.ts); the latest host to leave decides when.
  if (participant.role === 'host') await room.timers.set(HOST_HANDOVER_TIMER, now + OUT_BRIEFLY_MS + 1);
  media.forget(participant.participantId);
  room.sockets.broadcast({ type: 'participant.left', participantId: participant.participantId, reason }, room.audienceOf(participant));
  if (isModerator(participant)) room.broadcastWaiting();
  await media.releaseWhenEmpty(now);
}

/** Ends the meeting for everyone: node closed, sockets closed, history written. Idempotent. */
export async function end(room: Room, media: RoomMedia, reason: string): Promise<void> {
  if (!room.meeting.settings() || room.meeting.ended()) return;
  const now = Date.now();
  const present = room.participants.withStatus('joined');
  const waiting = room.participants.withStatus('waiting');
  const recording = room.meeting.recording();
  // The recording stops with the meeting (its current part ends; one waiting for its next part ends with the parts it has).
  const stopped = recordingAtMeetingEnd(recording, now);
  await room.change(() => {
    room.meeting.markEnded();
    // closeMeeting below ends every media session.
    room.letGo.clear();
    for (const p of present) {
      room.participants.setStatus(p.participantId, 'left', now);
      room.record({ kind: 'participantLeft', participantId: p.participantId, reason: 'ended' }, now);
    }
    for (const p of waiting) room.participants.setStatus(p.participantId, 'left', now);
    if (stopped) {
      room.meeting.setRecording(stopped.state);
      for (const { fields, at } of stopped.records) room.record(fields, at);
      room.record({ kind: 'analytics', event: 'recording_stopped', participantId: null, props: { recordingId: recording.recordingId, reason: 'ended' } }, now);
    }
    room.record({ kind: 'meetingStatus', status: 'ended' }, now);
    room.record({ kind: 'analytics', event: 'meeting_ended', participantId: null, props: { participants: present.length } }, now);
  });
  // The node finishes the recording the end stopped; if it never reports, the room's deadline fails it.
  if (stopped?.awaitsNode && recording.recordingId) await armRecordingDeadline(room, recording.recordingId, now - (recording.startedAt ?? now), now);
  await room.timers.clearIfSet(CONTINUE_TIMER);
  await media.commandNode({ command: 'closeMeeting', meetingId: room.linkId(), reason: reason.slice(0, 200), closedAt: Date.now() });
  room.sockets.closeAll('MEETING_ENDED', 'the meeting has ended');
  await media.releaseForGood();
  await room.timers.clear(PRESENCE_TIMER);
  await room.timers.clearIfSet(LET_GO_TIMER);
}

/** Participants who joined (or wait) but never kept a socket open are let go. */
export async function prunePresence(room: Room, media: RoomMedia, now: number): Promise<void> {
  let nextCheck: number | null = null;
  for (const p of [...room.participants.withStatus('joined'), ...room.participants.withStatus('waiting')]) {
    if (room.sockets.isConnected(p.participantId)) continue;
    const since = p.status === 'waiting' ? (p.waitingSince ?? p.joinedAt) : p.joinedAt;
    if (since + CONNECT_GRACE_MS > now) {
      nextCheck = Math.min(nextCheck ?? Infinity, since + CONNECT_GRACE_MS);
    } else if (p.status === 'joined') {
      await leave(room, media, p, 'disconnected');
    } else {
      room.participants.setStatus(p.participantId, 'left', now);
      room.broadcastWaiting();
    }
  }
  if (nextCheck !== null) await room.timers.set(PRESENCE_TIMER, nextCheck, true);
}

/** A socket closed: if it was the participant's last, a joined one left (their session brings them back). */
export async function socketGone(room: Room, media: RoomMedia, ws: WebSocket): Promise<void> {
  const attachment = RoomSockets.attachment(ws);
  if (!attachment) return;
  ws.serializeAttachment(null);
  const stillConnected = room.sockets.of(attachment.participantId).some((other) => other !== ws && RoomSockets.attachment(other));
  if (stillConnected) return;
  const participant = room.participants.get(attachment.participantId);
  if (participant?.status === 'joined') await leave(room, media, participant, 'left');
  // Waiting participants keep their place for a while; the presence alarm lets them go.
  else if (participant?.status === 'waiting') await expectReturn(room, Date.now());
}
