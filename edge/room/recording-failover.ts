import { RECORDING_MAX_SEGMENTS, type RecordingSegment } from '../../schema/wire/recording-segments.js';
import { RECORDING_MAX_DETACHED_PARTS, type RecordingState } from '../../schema/wire/room.js';
import { grantRecordingUpload } from '../files/recording-grants.js';
import type { PlacedNode } from '../../schema/wire/node-control.js';
import { nodeRegistryStub } from '../durable-objects.js';
import type { Room } from './room.js';

/**
 * A recording whose media node dies is neither lost nor passed off as whole: the part the dead
 * node captured keeps its own id (its files arrive if the node comes back), and the recording goes
 * on on the meeting's new node as a further part with a new id, once that node has the meeting's
 * room (the first participant reconnected there). The room lists the parts (RecordingState
 * .segments) and says where the gap is; no part is ever reported 'ready' as if it were the whole.
 */

/**
 * The timer that starts the next part on the new node (tried again until that node has the room)
 * and gives up after CONTINUE_GIVE_UP_MS. Its name sits under the recording deadlines' prefix
 * (recording.ts), so the room's alarm hands it to onRecordingDeadline, which dispatches here.
 */
export const CONTINUE_TIMER = 'recording-deadline:continue';
/** How often the next part's start is tried while the new node has no room for the meeting yet. */
export const CONTINUE_RETRY_MS = 1_000;
/** After this long without a node that takes the next part, the recording ends with the parts it has. */
export const CONTINUE_GIVE_UP_MS = 120_000;

/**
 * How long the next part's start waits for the node's answer: a node answers once the first
 * captures listen (media-node/recording/controller.ts: up to ~13 s on a loaded box).
 */
const START_ANSWER_TIMEOUT_MS = 20_000;

/** Starting a part needs the node's answer (a node without the meeting's room yet refuses). */
export interface ContinueDeps {
  env: Env;
  /** The node now records the meeting (RoomMedia.recordingOn). */
  recordingOn(node: PlacedNode): void;
}

/** The recording's parts: its segments, or the one part a recording has until a failover. */
export function partsOf(recording: RecordingState): RecordingSegment[] {
  if (recording.segments && recording.segments.length > 0) return recording.segments;
  if (!recording.recordingId) return [];
  return [{ recordingId: recording.recordingId, startedAt: recording.startedAt, endedAt: null, nodeLost: false }];
}

const clock = (ms: number) => {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
};

/** Host-facing line for part `index` (0-based): when it ran, on the recording's clock, and the gap before it. */
export function partNote(parts: readonly RecordingSegment[], index: number, origin: number): string {
  const part = parts[index]!;
  const label = `Part ${index + 1} of ${parts.length} (${part.recordingId.slice(0, 8)})`;
  if (part.startedAt === null) return `${label}: not started yet; waiting for the meeting's new media node.`;
  const from = clock(part.startedAt - origin);
  const previous = parts[index - 1];
  const gap = previous?.endedAt != null ? `, ${Math.max(0, Math.round((part.startedAt - previous.endedAt) / 1000))} s missing before it` : '';
  const until = part.endedAt === null ? 'on' : `to ${clock(part.endedAt - origin)}`;
  const lost = part.nodeLost ? ', when its media node was lost' : '';
  return `${label}: from ${from}${gap} ${until}${lost}.`;
}

/** One line per part (empty for a recording in one part). */
export function partNotes(recording: RecordingState): string[] {
  const parts = recording.segments ?? [];
  if (parts.length < 2) return [];
  const origin = parts[0]!.startedAt ?? recording.startedAt ?? 0;
  return parts.map((_, index) => partNote(parts, index, origin));
}

/**
 * The line for part `index` of a recording that went through a failover — also when it ended
 * with one part (its node was lost and no node took the recording on): that part is not whole.
 */
function partLine(parts: readonly RecordingSegment[], index: number, origin: number): string {
  if (parts.length > 1) return partNote(parts, index, origin);
  const part = parts[index]!;
  const until = part.endedAt === null ? '' : ` to ${clock(part.endedAt - origin)}`;
  const lost = part.nodeLost ? ', when its media node was lost' : '';
  return `The only part (${part.recordingId.slice(0, 8)}): from ${clock((part.startedAt ?? origin) - origin)}${until}${lost}; the recording could not go on on another media node.`;
}

/**
 * `recordingId` is one part of a recording (a failover split it), current or earlier: the line
 * that says which part. Null for a recording in one piece.
 */
export function partNoteOf(recording: RecordingState, recordingId: string): string | null {
  const parts = recording.segments ?? [];
  const index = parts.findIndex((part) => part.recordingId === recordingId);
  if (index >= 0) return partLine(parts, index, parts[0]!.startedAt ?? recording.startedAt ?? 0);
  return recording.detachedParts?.find((part) => part.recordingId === recordingId)?.note ?? null;
}

/** `recording` with `parts` remembered among its detached parts (the oldest go past the limit). */
function withDetached(recording: RecordingState, parts: { recordingId: string; note: string }[]): RecordingState {
  if (parts.length === 0) return recording;
  return { ...recording, detachedParts: [...(recording.detachedParts ?? []), ...parts].slice(-RECORDING_MAX_DETACHED_PARTS) };
}

/**
 * A new recording starts: what the room must still know of the one before it — its parts, if a
 * failover split it (their nodes may report them long after), and the parts it remembered.
 */
export function carriedParts(before: RecordingState): RecordingState['detachedParts'] {
  const parts = before.segments ?? [];
  const origin = parts[0]?.startedAt ?? before.startedAt ?? 0;
  const own = parts.map((part, index) => ({ recordingId: part.recordingId, note: partLine(parts, index, origin) }));
  const all = withDetached(before, own).detachedParts;
  return all && all.length > 0 ? all : undefined;
}

/**
 * The meeting's node was lost while recording: the running part ends there, and the next one
 * waits for the new node (CONTINUE_TIMER). Past RECORDING_MAX_SEGMENTS parts, the recording ends.
 */
export async function suspendForFailover(room: Room, now: number): Promise<void> {
  const recording = room.meeting.recording();
  if (!recording.active || !recording.recordingId) return;
  // The node the next part was waiting for is lost too: it keeps waiting (the timer is armed) for the node after it.
  if (recording.segments?.at(-1)?.startedAt === null) return;
  const parts = partsOf(recording).map((part, i, all) => (i === all.length - 1 && part.endedAt === null ? { ...part, endedAt: now, nodeLost: true } : part));
  const lost = parts.at(-1)!;
  const lostRecord = { kind: 'recording' as const, recordingId: lost.recordingId, status: 'failed' as const, durationMs: null, files: [], error: 'the media node was lost while recording' };
  if (parts.length >= RECORDING_MAX_SEGMENTS) {
    // Lost once too often: the recording ends with what it has.
    await endWithParts(room, { ...recording, segments: parts }, 'The recording could not go on on another media node.', now);
    return;
  }
  const next: RecordingSegment = { recordingId: crypto.randomUUID(), startedAt: null, endedAt: null, nodeLost: false };
  const state: RecordingState = { ...recording, active: true, status: 'recording', recordingId: next.recordingId, segments: [...parts, next] };
  const notes = partNotes(state);
  await room.change(() => {
    room.meeting.setRecording({ ...state, notes });
    room.record({ ...lostRecord, notes: [partNote(state.segments!, parts.length - 1, state.segments![0]!.startedAt ?? now), 'What this media node captured arrives if it comes back.'] }, now);
  });
  await room.timers.set(CONTINUE_TIMER, now + CONTINUE_RETRY_MS);
  room.broadcastMeeting();
}

/**
 * CONTINUE_TIMER is due: the next part starts on the meeting's node if it has the meeting's room
 * now (asked to record, after its upload grant); otherwise tried again, until the give-up.
 */
export async function onContinueDue(room: Room, deps: ContinueDeps, now = Date.now()): Promise<void> {
  const recording = room.meeting.recording();
  const parts = recording.segments ?? [];
  const next = parts.at(-1);
  if (!recording.active || !next || next.startedAt !== null || parts.length < 2) return;
  const node = room.meeting.assignment();
  if (node && (await startPart(room, deps, node, next.recordingId, now))) {
    const latest = room.meeting.recording();
    const wanted = latest.active && latest.recordingId === next.recordingId;
    // The meeting left that node while it started the part (a drain): it records there no longer.
    const moved = room.meeting.assignment()?.nodeId !== node.nodeId;
    if (!wanted || moved) {
      // Stopped by the host meanwhile, or left behind: that node stops again (it may be recording people).
      await stopPartOn(room, deps, node, next.recordingId);
      if (wanted) await startAfresh(room, latest, next.recordingId);
      return;
    }
    deps.recordingOn(node);
    const started = Date.now();
    const segments = (latest.segments ?? parts).map((part) => (part.recordingId === next.recordingId ? { ...part, startedAt: started } : part));
    const state: RecordingState = { ...latest, segments };
    const notes = partNotes(state);
    await room.change(() => {
      room.meeting.setRecording({ ...state, notes });
      room.record({ kind: 'recording', recordingId: next.recordingId, status: 'recording', durationMs: null, files: [], error: null, notes: [notes.at(-1)!] }, started);
    });
    room.broadcastMeeting();
    return;
  }
  // Stopped, or the meeting ended, while the node was asked: that ended it already.
  const latest = room.meeting.recording();
  if (!isContinuing(latest) || latest.recordingId !== next.recordingId) return;
  const lostAt = parts.at(-2)?.endedAt ?? now;
  if (now - lostAt >= CONTINUE_GIVE_UP_MS) {
    // The node asked last may not have answered yet and start the part after all: it stops it again.
    if (node) await stopPartOn(room, deps, node, next.recordingId);
    await endWithParts(room, room.meeting.recording(), `No media node took the recording on within ${CONTINUE_GIVE_UP_MS / 1000} s.`, now);
    return;
  }
  await room.timers.set(CONTINUE_TIMER, now + CONTINUE_RETRY_MS);
}

/** Tells `node` to stop the part `recordingId` (one it may have started, or may still start). */
async function stopPartOn(room: Room, deps: ContinueDeps, node: PlacedNode, recordingId: string): Promise<void> {
  await nodeRegistryStub(deps.env, node.region, node.nodeId).sendCommand(node.nodeId, { command: 'stopRecording', meetingId: room.linkId(), recordingId }).catch(() => undefined);
}

/**
 * The next part started on a node the meeting has left: that start is dropped (its late statuses
 * are a detached part's) and the part is asked of the meeting's node under a new id, so nothing
 * the node left behind reports can pass for the part that runs.
 */
async function startAfresh(room: Room, recording: RecordingState, leftBehind: string): Promise<void> {
  const fresh = crypto.randomUUID();
  const segments = (recording.segments ?? []).map((part) => (part.recordingId === leftBehind ? { ...part, recordingId: fresh } : part));
  const note = `A part (${leftBehind.slice(0, 8)}) started on a media node the meeting was leaving; it was stopped there, and the recording went on on the meeting's new node.`;
  const state = withDetached({ ...recording, recordingId: fresh, segments }, [{ recordingId: leftBehind, note }]);
  await room.change(() => room.meeting.setRecording({ ...state, notes: partNotes(state) }));
  await room.timers.set(CONTINUE_TIMER, Date.now());
  room.broadcastMeeting();
}

/**
 * Asks the meeting's node to record the next part (after granting it the part's uploads) and waits
 * for its answer: a node the participants have not reconnected to yet has no room for the meeting
 * and refuses (MEETING_NOT_FOUND). Unanswered in time: the node may still start it, and a start
 * repeated later with the same id is harmless there (answered as the first).
 */
async function startPart(room: Room, deps: ContinueDeps, node: PlacedNode, recordingId: string, now: number): Promise<boolean> {
  const linkId = room.linkId();
  await grantRecordingUpload(deps.env.FILES, { recordingId, nodeId: node.nodeId, meetingLinkId: linkId }, now);
  try {
    const answer = await nodeRegistryStub(deps.env, node.region, node.nodeId).sendCommandAndWait(node.nodeId, { command: 'startRecording', meetingId: linkId, recordingId }, START_ANSWER_TIMEOUT_MS);
    return answer.ok;
  } catch {
    return false;
  }
}

type HistoryEntry = { fields: Parameters<Room['record']>[0]; at: number };

/**
 * The recording ends with the parts it has (its last one lost, or a next one never started):
 * failed and incomplete for the room, with a line per part and why. A next part not started is
 * dropped from the parts but remembered (detachedParts): its node may not have answered yet, and
 * what it sends later is a part's. The lost last part's history row gets its final line (dated
 * as that row, so any later word of its node still wins). The parts' own statuses still come
 * from their nodes, into history.
 */
export function endedWithParts(recording: RecordingState, why: string, now: number): { state: RecordingState; records: HistoryEntry[] } {
  const all = recording.segments ?? [];
  const parts = all.filter((part) => part.startedAt !== null);
  const pending = all.filter((part) => part.startedAt === null);
  const last = parts.at(-1);
  const origin = parts[0]?.startedAt ?? recording.startedAt ?? now;
  const lateNote = (id: string) => `A next part (${id.slice(0, 8)}) asked of the meeting's new media node, which had not answered when the recording ended; it was told to stop, and what it captured is not one of the parts.`;
  const base: RecordingState = { ...recording, active: false, status: 'failed', incomplete: true, recordingId: last?.recordingId ?? recording.recordingId, ...(parts.length > 0 ? { segments: parts } : {}) };
  const state = withDetached(base, pending.map((part) => ({ recordingId: part.recordingId, note: lateNote(part.recordingId) })));
  const lines = parts.length > 1 ? partNotes(state) : [];
  const lostLast = last?.nodeLost ? [`The media node recording this meeting was lost at ${clock((last.endedAt ?? now) - origin)}; what it captured may still arrive if it comes back.`] : [];
  const notes = [...lostLast, ...lines, why].slice(0, 32);
  const records: HistoryEntry[] = [];
  if (last?.nodeLost) {
    const line = partLine(parts, parts.length - 1, origin);
    records.push({ fields: { kind: 'recording', recordingId: last.recordingId, status: 'failed', durationMs: null, files: [], error: 'the media node was lost while recording', notes: [line, why] }, at: last.endedAt ?? now });
  }
  return { state: { ...state, notes }, records };
}

async function endWithParts(room: Room, recording: RecordingState, why: string, now: number): Promise<void> {
  const { state, records } = endedWithParts(recording, why, now);
  await room.change(() => {
    room.meeting.setRecording(state);
    for (const { fields, at } of records) room.record(fields, at);
  });
  await room.timers.clearIfSet(CONTINUE_TIMER);
  room.broadcastMeeting();
}

/** The recording waits for its next part to start on the meeting's new node (none records it now). */
export const isContinuing = (recording: RecordingState): boolean => recording.active && recording.segments?.at(-1)?.startedAt === null;

/**
 * The host stops a recording whose next part has not started yet: it ends with the parts it has.
 * Answers the id of that next part — the meeting's node may have been asked to start it and not
 * answered yet, so the caller tells it to stop — or null when the current part runs on a node.
 */
export async function stopWhileContinuing(room: Room, now: number): Promise<string | null> {
  const recording = room.meeting.recording();
  if (!isContinuing(recording)) return null;
  await endWithParts(room, recording, 'Stopped before the recording could go on on another media node.', now);
  return recording.recordingId;
}

/** The current part ended (the host stopped the recording): its end time, for the part notes. */
export function withCurrentPartEnded(recording: RecordingState, now: number): RecordingState {
  if (!recording.segments) return recording;
  return { ...recording, segments: recording.segments.map((part, i, all) => (i === all.length - 1 && part.endedAt === null ? { ...part, endedAt: now } : part)) };
}
