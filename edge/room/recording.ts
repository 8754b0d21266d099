import { uuidSchema } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import type { NodeCommand, NodeEvent, PlacedNode, RecordingStatus } from '../../schema/wire/node-control.js';
import type { RecordingState } from '../../schema/wire/room.js';
import { finishRecordingUpload, grantRecordingUpload } from '../files/recording-grants.js';
import { carriedParts, CONTINUE_TIMER, endedWithParts, isContinuing, onContinueDue, partNoteOf, partNotes, stopWhileContinuing, suspendForFailover, withCurrentPartEnded, type ContinueDeps } from './recording-failover.js';
import type { Room } from './room.js';

/**
 * What recording needs of the room's media: a way to command the meeting's node. RoomMedia
 * (media.ts) is one, and calls back into this module when its node is lost — so this side names
 * only the shape, and the two modules do not import each other.
 */
export interface NodeCommander {
  commandNode(command: NodeCommand): Promise<boolean>;
  /** The node now records the meeting: the meeting's media reaches it even with nobody on it (cascading). */
  recordingOn(node: PlacedNode): void;
}

type RecordingStatusEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;

/**
 * One deadline per recording that was stopped but not yet reported ready or failed (timer name:
 * prefix + recording id). Each status the node sends re-arms it; if it passes, the room marks the
 * recording failed with a note, so none stays "processing" forever (a later word from the node
 * still wins: history keeps the newest status).
 */
export const RECORDING_DEADLINE_PREFIX = 'recording-deadline:';
/** The node has at least this long after the stop, or after its last status, to finish… */
export const RECORDING_FINISH_MIN_MS = 30 * 60_000;
/** …plus this many times the recorded length (composite ≥ 4× real time, then the upload). */
const FINISH_MS_PER_RECORDED_MS = 2;

const FINAL: ReadonlySet<RecordingStatus> = new Set(['ready', 'failed']);
/** A recording's statuses only move forward: a late 'recording' after the stop changes nothing. */
const RANK: Record<RecordingStatus, number> = { recording: 0, processing: 1, uploading: 2, ready: 3, failed: 3 };

export const isRecordingDeadline = (timer: string): boolean => timer.startsWith(RECORDING_DEADLINE_PREFIX);
const deadlineName = (recordingId: string) => `${RECORDING_DEADLINE_PREFIX}${recordingId}`;

/** (Re)arms the deadline by which the node must report `recordingId` ready or failed. */
export async function armRecordingDeadline(room: Room, recordingId: string, recordedMs: number, now = Date.now()): Promise<void> {
  await room.timers.set(deadlineName(recordingId), now + RECORDING_FINISH_MIN_MS + FINISH_MS_PER_RECORDED_MS * Math.max(0, recordedMs));
}

/** recording.start from a moderator: the node starts recording, everyone sees the state. */
export async function startRecording(room: Room, media: NodeCommander, files: R2Bucket, actorId: string): Promise<void> {
  if (room.meeting.recording().active) throw new AppError('ALREADY_RECORDING', 'the meeting is already being recorded');
  const recordingId = crypto.randomUUID();
  const linkId = room.linkId();
  const node = room.meeting.assignment();
  // Only the node asked to record may upload this recording's files (edge/routes/recording-uploads.ts).
  if (node) await grantRecordingUpload(files, { recordingId, nodeId: node.nodeId, meetingLinkId: linkId });
  // "Starting" before the node is asked: a node that refuses at once says so with a 'failed'
  // status for this id, which must find it current (else the room said "starting" for good).
  const before = room.meeting.recording();
  const now = Date.now();
  // The parts of the recording before (a failover split it) are still parts when their nodes report them.
  const detachedParts = carriedParts(before);
  await room.change(() => room.meeting.setRecording({ active: true, recordingId, startedAt: now, status: 'recording', capturing: false, ...(detachedParts ? { detachedParts } : {}) }));
  if (!node || !(await media.commandNode({ command: 'startRecording', meetingId: linkId, recordingId }))) {
    // Unless something else changed it meanwhile (a stop, a node lost): that stands.
    await room.change(() => {
      const current = room.meeting.recording();
      if (current.recordingId === recordingId && current.active && !current.segments) room.meeting.setRecording(before);
    });
    throw new AppError('MEDIA_ERROR', 'the media node could not be reached to start recording; try again');
  }
  media.recordingOn(node);
  await room.change(() => {
    // Dated at the start: a refusal that arrived meanwhile is the newer word in history.
    room.record({ kind: 'recording', recordingId, status: 'recording', durationMs: null, files: [], error: null }, now);
    room.record({ kind: 'analytics', event: 'recording_started', participantId: actorId, props: { recordingId } }, now);
  });
  room.broadcastMeeting();
}

export async function stopRecording(room: Room, media: NodeCommander, actorId: string): Promise<void> {
  const recording = room.meeting.recording();
  if (!recording.active || !recording.recordingId) throw new AppError('NOT_RECORDING', 'the meeting is not being recorded');
  const recordingId = recording.recordingId;
  if (await stopContinuation(room, media)) return;
  await media.commandNode({ command: 'stopRecording', meetingId: room.linkId(), recordingId });
  // Stopped for the room at once; the node reports processing/uploading/ready as events — and
  // what it reported while the stop was on its way stands (this reads the state after the wait).
  const now = Date.now();
  const latest = room.meeting.recording();
  if (latest.recordingId !== recordingId) {
    // Its node was lost meanwhile: the recording went on as a next part, which the Stop ends too.
    if (latest.active && latest.segments?.some((part) => part.recordingId === recordingId)) await stopRecording(room, media, actorId);
    return;
  }
  const final = FINAL.has(latest.status ?? 'recording');
  await room.change(() => {
    room.meeting.setRecording(final ? withPartEndedNoted(latest, now) : stopped(latest, now));
    room.record({ kind: 'analytics', event: 'recording_stopped', participantId: actorId, props: { recordingId } });
  });
  // A verdict already in wants no deadline (it would replace that verdict in history).
  if (!final) {
    await armRecordingDeadline(room, recordingId, now - (recording.startedAt ?? now), now);
    // One that came in while this was written found no deadline to end yet.
    const after = room.meeting.recording();
    if (after.recordingId === recordingId && FINAL.has(after.status ?? 'recording')) await room.timers.clearIfSet(deadlineName(recordingId));
  }
  room.broadcastMeeting();
}

/**
 * The recording waits for its next part (after a failover): it ends with the parts it has (true),
 * and the meeting's node is told to stop that part — it may have been asked to start it and not
 * answered yet, so it may be recording people. False when the current part runs on a node.
 */
async function stopContinuation(room: Room, media: NodeCommander): Promise<boolean> {
  const pending = await stopWhileContinuing(room, Date.now());
  if (pending === null) return false;
  await media.commandNode({ command: 'stopRecording', meetingId: room.linkId(), recordingId: pending });
  return true;
}

/** The current part ended at `now`, and the part lines (first among the notes) say so. */
function withPartEndedNoted(recording: RecordingState, now: number): RecordingState {
  const ended = withCurrentPartEnded(recording, now);
  const lines = partNotes(ended);
  if (lines.length === 0) return ended;
  return { ...ended, notes: [...lines, ...(recording.notes ?? []).slice(partNotes(recording).length)].slice(0, 32) };
}

/** Stopped for the room (by the host, or by the meeting's end): the node still has to finish it. */
function stopped(recording: RecordingState, now: number): RecordingState {
  const status = recording.status && RANK[recording.status] > RANK.processing ? recording.status : 'processing';
  return { ...withPartEndedNoted(recording, now), active: false, status };
}

/**
 * The meeting ends while it records (the node's closeMeeting ends its capture): what the room keeps,
 * the history rows that go with it, and whether a node still has to finish the recording (its
 * deadline). A recording waiting for its next part ends with the parts it has, as a Stop does.
 */
export function recordingAtMeetingEnd(recording: RecordingState, now: number): { state: RecordingState; records: ReturnType<typeof endedWithParts>['records']; awaitsNode: boolean } | null {
  if (!recording.active || !recording.recordingId) return null;
  if (isContinuing(recording)) return { ...endedWithParts(recording, 'The meeting ended before the recording could go on on another media node.', now), awaitsNode: false };
  return { state: stopped(recording, now), records: [], awaitsNode: true };
}

/** What the room shows of a status from the node: status, length, and for 'failed' whether the files play and why. */
function stateAfter(recording: RecordingState, event: RecordingStatusEvent): RecordingState {
  if (recording.status && RANK[event.status] < RANK[recording.status]) return recording;
  const { incomplete: _incomplete, notes: _notes, ...kept } = recording;
  const notes = event.notes ?? (event.status === 'failed' && event.error ? [event.error.message.slice(0, 300)] : []);
  return {
    ...kept,
    active: event.status === 'recording',
    status: event.status,
    // The node says 'recording' once its window opens: from then on what people see is recorded.
    ...(event.status === 'recording' ? { capturing: true } : {}),
    ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}),
    ...(event.status === 'failed' && event.incomplete ? { incomplete: true } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

/**
 * A recordingStatus event from the node (via the RegionDO). Events of an earlier recording that
 * arrive after a new one started still reach its history row (and close its upload grant); only
 * the current recording's events change what the room shows.
 */
export async function onRecordingStatus(room: Room, files: R2Bucket, received: RecordingStatusEvent): Promise<void> {
  // A node refused the start of a part after a failover (its refusal travels as 'failed'): the
  // continuation tries again and gives up with notes of its own (recording-failover.ts).
  const pendingPart = room.meeting.recording().segments?.some((part) => part.recordingId === received.recordingId && part.startedAt === null);
  if (pendingPart && received.status === 'failed') return;
  const final = FINAL.has(received.status);
  if (final) await finishRecordingUpload(files, received.recordingId);
  const recording = room.meeting.recording();
  const current = recording.recordingId === received.recordingId;
  const event = asPart(recording, received);
  await room.change(() => {
    if (current) {
      const next = stateAfter(recording, event);
      // A recording in parts: the room lists every part (and the gaps) above the node's notes.
      const lines = partNotes(next);
      room.meeting.setRecording(lines.length > 0 ? { ...next, notes: [...lines, ...(received.notes ?? [])].slice(0, 32) } : next);
    }
    room.record({
      kind: 'recording',
      recordingId: event.recordingId,
      status: event.status,
      durationMs: event.durationMs ?? null,
      files: event.files ?? [],
      error: event.error?.message ?? null,
      ...(event.status === 'failed' && event.incomplete ? { incomplete: true } : {}),
      ...(event.notes && event.notes.length > 0 ? { notes: event.notes } : {}),
    });
  });
  // Each word from the node after the stop moves its deadline; a final one ends it.
  if (final) await room.timers.clearIfSet(deadlineName(event.recordingId));
  else if (event.status !== 'recording') {
    const recordedMs = event.durationMs ?? (current && recording.startedAt !== null ? Date.now() - recording.startedAt : 0);
    await armRecordingDeadline(room, event.recordingId, recordedMs);
  }
  if (current) room.broadcastMeeting();
}

/**
 * An event of one part of a recording in parts (a failover moved it): a part is never the whole
 * recording, so its 'ready' is 'failed' + incomplete (its files play), and its notes say which part.
 */
function asPart(recording: RecordingState, event: RecordingStatusEvent): RecordingStatusEvent {
  // Also a part of an earlier recording, or of one that ended with a single part (no node took it on).
  const note = partNoteOf(recording, event.recordingId);
  if (note === null) return event;
  const notes = [note, ...(event.notes ?? [])].slice(0, 32);
  if (event.status !== 'ready') return { ...event, notes };
  return { ...event, status: 'failed', incomplete: true, notes, error: { code: 'MEDIA_ERROR', message: 'one part of a recording that moved to another media node' } };
}

/**
 * The deadline `timer` passed without the node reporting its recording ready or failed: failed,
 * with a note for the host. Its upload grant stays open, so a node that was only slow (or comes
 * back after a restart) still delivers, and its report then replaces this one.
 */
export async function onRecordingDeadline(room: Room, timer: string, now = Date.now(), deps?: ContinueDeps): Promise<void> {
  // The recording's other timer: its next part after a failover (recording-failover.ts).
  if (timer === CONTINUE_TIMER) {
    if (deps) await onContinueDue(room, deps, now);
    return;
  }
  const parsed = uuidSchema.safeParse(timer.slice(RECORDING_DEADLINE_PREFIX.length));
  if (!isRecordingDeadline(timer) || !parsed.success) return;
  const recordingId = parsed.data;
  const recording = room.meeting.recording();
  const current = recording.recordingId === recordingId && !FINAL.has(recording.status ?? 'recording');
  const last = current && recording.status ? ` (last reported: ${recording.status})` : '';
  const note = `The media node did not finish this recording in time${last}; it may still arrive later.`;
  const part = partNoteOf(recording, recordingId);
  await room.change(() => {
    if (current) {
      const { incomplete: _incomplete, ...kept } = recording;
      // A recording in parts keeps its list of parts and the gaps above the note.
      room.meeting.setRecording({ ...kept, active: false, status: 'failed', notes: [...partNotes(kept), note].slice(0, 32) });
    }
    room.record({ kind: 'recording', recordingId, status: 'failed', durationMs: null, files: [], error: 'the media node did not finish the recording in time', notes: part ? [part, note] : [note] }, now);
  });
  if (current) room.broadcastMeeting();
}

/**
 * The meeting's media node is gone while it recorded: that part ends there (its files arrive if the
 * node comes back), and the recording goes on on the meeting's new node as a further part
 * (recording-failover.ts). Called by RoomMedia.onNodeLost before it moves everyone.
 */
export async function onRecordingNodeLost(room: Room, now = Date.now()): Promise<void> {
  await suspendForFailover(room, now);
}
