import { AppError, assertNever, type NodeCommand, type NodeCommandData, type NodeEvent } from '../../schema/wire/index.js';
import { executeCascadeCommand, isCascadeCommand } from '../cascade/commands.js';
import type { RecordingController } from '../rooms/recording-seam.js';
import type { RoomManager } from '../rooms/room-manager.js';

export interface CommandDeps {
  rooms: RoomManager;
  recording: RecordingController | undefined;
  drain: (deadline: number | undefined) => void;
  /** Tells the edge (a recording that could not start: the room shows it failed, and why). */
  emitEvent: (event: NodeEvent) => void;
}

/**
 * Executes one edge command; throws AppError for the commandResult's error. Answers the data the
 * commandResult carries (`data`), for the commands that have one (cascade, media-node/cascade/).
 */
async function startRecording(command: Extract<NodeCommand, { command: 'startRecording' }>, deps: CommandDeps): Promise<undefined> {
  if (!deps.recording) throw new AppError('MEDIA_ERROR', 'recording is not available on this node');
  const room = await deps.rooms.roomForRecording(command.meetingId);
  try {
    await deps.recording.start(room, command.recordingId);
  } finally {
    // A room opened for a recording that did not start has nothing to keep it.
    room.closeIfDone();
  }
  return undefined;
}

function refusedRecording(command: Extract<NodeCommand, { command: 'startRecording' }>, error: unknown): NodeEvent {
  const refusal = error instanceof AppError ? error : new AppError('INTERNAL', 'the recording could not start');
  return {
    event: 'recordingStatus',
    meetingId: command.meetingId,
    recordingId: command.recordingId,
    status: 'failed',
    error: { code: refusal.code, message: refusal.message.slice(0, 500) },
    notes: [`The recording could not start: ${refusal.message}`.slice(0, 300)],
  };
}

export async function executeCommand(command: NodeCommand, deps: CommandDeps): Promise<NodeCommandData | undefined> {
  if (isCascadeCommand(command)) return executeCascadeCommand(command, deps.rooms);
  switch (command.command) {
    case 'closeParticipant': {
      // Refuse its token from now on, even if it is not (or no longer) connected here. One that
      // left the room (not removed) may come back with a token issued after this.
      deps.rooms.revoke(command.meetingId, command.participantId, command.tokensIssuedBefore);
      const room = deps.rooms.rooms.get(command.meetingId);
      const participant = room?.participants.get(command.participantId);
      const left = command.tokensIssuedBefore !== undefined;
      if (room && participant) room.removeParticipant(participant, command.reason || (left ? 'left the meeting' : 'removed by host'), left ? 'TOKEN_EXPIRED' : 'REMOVED_BY_HOST');
      return;
    }
    case 'muteParticipant':
      // Also for a participant not connected here (yet): the producers it makes later are held to it.
      await deps.rooms.hostMute(command.meetingId, command.participantId, command.kind, command.participantsMayUnmute);
      return;
    case 'setUnmutePolicy':
      deps.rooms.setUnmutePolicy(command.meetingId, command.participantsMayUnmute);
      return;
    case 'setPermissions':
      deps.rooms.setPermissions(command.meetingId, command.participantId, command.permissions, command.changedAt);
      return;
    case 'closeMeeting': {
      // Its tokens are refused from now on, whether or not a room for it is open here.
      const closed = await deps.rooms.endMeeting(command.meetingId, command.reason || 'meeting ended', command.why ?? 'ended', command.closedAt);
      if (!closed) throw new AppError('MEETING_NOT_FOUND', 'meeting is not on this node');
      return;
    }
    case 'drain':
      deps.drain(command.deadline);
      return;
    case 'startRecording':
      try {
        return await startRecording(command, deps);
      } catch (error) {
        // The edge sent the start without waiting for it (a start can take seconds) and shows the
        // recording as starting: without this word it said so until someone pressed Stop.
        deps.emitEvent(refusedRecording(command, error));
        throw error;
      }
    case 'stopRecording': {
      if (!deps.recording) throw new AppError('MEDIA_ERROR', 'recording is not available on this node');
      await deps.recording.stop(command.meetingId, command.recordingId, deps.rooms.rooms.get(command.meetingId));
      return;
    }
    default:
      return assertNever(command, 'edge command');
  }
}
