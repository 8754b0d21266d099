import { AppError } from '../../schema/wire/errors.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import { finishRecordingUpload, grantRecordingUpload } from '../files/recording-grants.js';
import type { RoomMedia } from './media.js';
import type { Room } from './room.js';

/** recording.start from a moderator: the node starts recording, everyone sees the state. */
export async function startRecording(room: Room, media: RoomMedia, files: R2Bucket, actorId: string): Promise<void> {
  if (room.meeting.recording().active) throw new AppError('ALREADY_RECORDING', 'the meeting is already being recorded');
  const recordingId = crypto.randomUUID();
  const linkId = room.linkId();
  const node = room.meeting.assignment();
  // Only the node asked to record may upload this recording's files (edge/routes/recording-uploads.ts).
  if (node) await grantRecordingUpload(files, { recordingId, nodeId: node.nodeId, meetingLinkId: linkId });
  if (!node || !(await media.commandNode({ command: 'startRecording', meetingId: linkId, recordingId }))) {
    throw new AppError('MEDIA_ERROR', 'the media node could not be reached to start recording; try again');
  }
  const now = Date.now();
  await room.change(() => {
    room.meeting.setRecording({ active: true, recordingId, startedAt: now, status: 'recording' });
    room.record({ kind: 'recording', recordingId, status: 'recording', durationMs: null, files: [], error: null }, now);
    room.record({ kind: 'analytics', event: 'recording_started', participantId: actorId, props: { recordingId } }, now);
  });
  room.broadcastMeeting();
}

export async function stopRecording(room: Room, media: RoomMedia, actorId: string): Promise<void> {
  const recording = room.meeting.recording();
  if (!recording.active || !recording.recordingId) throw new AppError('NOT_RECORDING', 'the meeting is not being recorded');
  const recordingId = recording.recordingId;
  await media.commandNode({ command: 'stopRecording', meetingId: room.linkId(), recordingId });
  // Stopped for the room at once; the node reports processing/uploading/ready as events.
  await room.change(() => {
    room.meeting.setRecording({ ...recording, active: false, status: 'processing' });
    room.record({ kind: 'analytics', event: 'recording_stopped', participantId: actorId, props: { recordingId } });
  });
  room.broadcastMeeting();
}

/**
 * A recordingStatus event from the node (via the RegionDO). Events of an earlier recording that
 * arrive after a new one started still reach its history row (and close its upload grant); only
 * the current recording's events change what the room shows.
 */
export async function onRecordingStatus(room: Room, files: R2Bucket, event: Extract<NodeEvent, { event: 'recordingStatus' }>): Promise<void> {
  if (event.status === 'ready' || event.status === 'failed') await finishRecordingUpload(files, event.recordingId);
  const recording = room.meeting.recording();
  const current = recording.recordingId === event.recordingId;
  await room.change(() => {
    if (current) room.meeting.setRecording({ ...recording, active: event.status === 'recording', status: event.status });
    room.record({
      kind: 'recording',
      recordingId: event.recordingId,
      status: event.status,
      durationMs: event.durationMs ?? null,
      files: event.files ?? [],
      error: event.error?.message ?? null,
    });
  });
  if (current) room.broadcastMeeting();
}
