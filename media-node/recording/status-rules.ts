import type { MediaKind, MediaSource } from '../../schema/wire/common.js';
import type { ErrorCode } from '../../schema/wire/errors.js';
import { subtract, totalMs, union, type Interval } from './intervals.js';

/**
 * The rules that decide how a finished recording ends. Pure: everything the recorder learned is
 * handed in as facts, so every case is unit-tested (status-rules.test.ts). A recording is only
 * 'ready' when nothing is known to be missing; 'incomplete' keeps the files but says what is
 * missing; 'failed' means no usable recording (or the files did not reach the store).
 */

/** Missing pieces up to this long per track are measurement noise (anchor jitter, event timing). */
export const GAP_TOLERANCE_MS = 500;

export interface TrackFacts {
  trackId: string;
  participantId: string;
  /** Shown in notes instead of the id when known. */
  displayName?: string;
  source: MediaSource;
  kind: MediaKind;
  /** When the producer was live (published and not paused) inside the window. */
  live: Interval[];
  /** What the track's files hold, placed on the wall clock. */
  captured: Interval[];
  /** Capture trouble the recorder saw (ffmpeg died or never started, capture gave up). */
  troubles: string[];
}

/** A problem the ffprobe integrity check found in one output file. */
export interface IntegrityProblem {
  file: string;
  /** 'broken': stream missing or unreadable; 'off': duration or A/V sync out of tolerance. */
  severity: 'broken' | 'off';
  message: string;
}

export interface RecordingFacts {
  window: Interval;
  tracks: TrackFacts[];
  /** Set when the recording stopped itself because the disk filled up. */
  diskFull: string | null;
  /** Set when the composite could not be built. */
  compositeError: string | null;
  /** Name of the composite file the integrity check looked at (null: none was built). */
  compositeFile: string | null;
  integrity: IntegrityProblem[];
  /** Why capture ended early, if it did (e.g. the maximum length): the window is shorter than asked. */
  endedEarly?: string | null;
  toleranceMs?: number;
}

export type RecordingOutcome = 'ready' | 'incomplete' | 'failed';

export interface Verdict {
  status: RecordingOutcome;
  /** Host-facing notes on what is missing or went wrong (empty when ready). */
  notes: string[];
  /** For 'incomplete' and 'failed': the reason in one line. */
  error?: { code: ErrorCode; message: string };
}

/** The verdict once uploading ended: files that did not reach the store make it 'failed'. */
export function afterUpload(verdict: Verdict, uploadError: string | null): Verdict {
  if (!uploadError) return verdict;
  const notes = verdict.status === 'ready' ? [] : verdict.notes;
  return { status: 'failed', notes: [uploadError, ...notes], error: { code: 'INTERNAL', message: uploadError.slice(0, 500) } };
}

const SOURCE_LABEL: Record<MediaSource, string> = { mic: 'microphone', camera: 'camera', screen: 'screen share' };
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const whose = (track: TrackFacts) => `${track.displayName ?? track.participantId}'s ${SOURCE_LABEL[track.source]}`;

/** Notes about one track: live media it did not capture, and capture trouble. */
export function trackNotes(track: TrackFacts, toleranceMs = GAP_TOLERANCE_MS): string[] {
  const notes: string[] = [];
  const liveMs = totalMs(track.live);
  const missedMs = totalMs(subtract(track.live, track.captured));
  if (liveMs > 0 && totalMs(union(track.captured)) === 0) notes.push(`${whose(track)} was live for ${seconds(liveMs)} but nothing of it was captured`);
  else if (missedMs > toleranceMs) notes.push(`${whose(track)}: ${seconds(missedMs)} of ${seconds(liveMs)} live were not captured (left as ${track.kind === 'audio' ? 'silence' : 'black'})`);
  for (const trouble of track.troubles) notes.push(`${whose(track)}: ${trouble}`);
  return notes;
}

function noMediaReason(tracks: readonly TrackFacts[]): string {
  if (tracks.length === 0) return 'no media: nobody published a microphone, camera or screen share while recording';
  const live = tracks.filter((t) => totalMs(t.live) > 0);
  if (live.length === 0) return `no media: all ${tracks.length} published tracks were muted or off the whole time`;
  const trouble = live.flatMap((t) => t.troubles)[0];
  return `no media: ${live.length} tracks were live but nothing was captured${trouble ? ` (${trouble})` : ''}`;
}

export function recordingVerdict(facts: RecordingFacts): Verdict {
  const tolerance = facts.toleranceMs ?? GAP_TOLERANCE_MS;
  const failed = (code: ErrorCode, message: string, notes: string[] = []): Verdict => ({ status: 'failed', notes: [message, ...notes], error: { code, message: message.slice(0, 500) } });

  const capturedAnything = facts.tracks.some((t) => totalMs(t.captured) > 0);
  if (!capturedAnything) return failed('MEDIA_ERROR', noMediaReason(facts.tracks));

  const notes: string[] = [];
  for (const track of facts.tracks) notes.push(...trackNotes(track, tolerance));
  for (const problem of facts.integrity) if (problem.file !== facts.compositeFile) notes.push(`${problem.file}: ${problem.message}`);
  const compositeProblems = facts.integrity.filter((p) => p.file === facts.compositeFile);
  for (const problem of compositeProblems) if (problem.severity === 'off') notes.push(`composite: ${problem.message}`);
  if (facts.endedEarly) notes.push(facts.endedEarly);

  if (facts.diskFull) return failed('DISK_FULL', facts.diskFull, notes);
  if (facts.compositeError) return failed('MEDIA_ERROR', `composite failed: ${facts.compositeError}`, notes);
  const broken = compositeProblems.find((p) => p.severity === 'broken');
  if (broken) return failed('MEDIA_ERROR', `composite failed its check: ${broken.message}`, notes);

  if (notes.length === 0) return { status: 'ready', notes: [] };
  return { status: 'incomplete', notes, error: { code: 'MEDIA_ERROR', message: `recording incomplete: ${notes[0]}`.slice(0, 500) } };
}
