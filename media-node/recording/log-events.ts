/*
 * Every log line the recorder (media-node/recording/**) writes: event name (pino's `msg`, what
 * operators query) → the fields it carries. The node's union (media-node/log-events.ts) includes
 * these, so the typed logger (media-node/log.ts) accepts exactly them. Add an event here before
 * logging it. `err` is always a message string, never an object.
 */

type NoFields = Record<never, never>;

/** Starting, stopping and the recorder's own watchdogs. */
interface RecorderEvents {
  'recording started': { recordingId: string; dir: string; tracks: number };
  'recording stopped: processing': { recordingId: string; reason: string; tracks: number };
  'recording reached its maximum length: stopping': { recordingId: string; maxMs: number };
  'disk almost full: recording stopped, per-track files kept': { recordingId: string; free: number; freeMiB: number };
  'could not start capturing a producer': { err: string; producerId: string };
}

/** One track's capture ffmpeg (track-capture.ts) and the warm ones (capture-pool.ts). */
interface CaptureEvents {
  'track segment started': { file: string; pid: number; rtpPort: number; codec: string; warm: boolean };
  'track segment ended': { file: string; ffmpeg: string };
  'capture ffmpeg listening': { ready: boolean; msToListen: number };
  'track timeline anchored': { file: string; anchor: number | null };
  /** Where a track's start goes: segment opened → consumer resumed → first packet forwarded to ffmpeg. */
  /** A track's live and captured spans, ms into the window: what an "incomplete" is judged on. */
  'track coverage': { trackId: string; live: Array<[number, number]>; captured: Array<[number, number]> };
  'capture lost video sync: key frame requested': { file: string };
  'track capture flowing': { file: string; msToResume: number; msToFirstPacket: number; msAfterLive: number | null };
  'track capture resumed after a gap': { gapMs: number };
  'producer closed: finishing track': NoFields;
  'transport closed under the recorder (router closed?)': NoFields;
  'ffmpeg did not open its port in time: restarting it': { port: number };
  'ffmpeg died: restarting with a new segment': { reason: string; restart: number };
  'ffmpeg keeps dying: giving up on this track': { reason: string };
  'could not restart the track capture': { err: string };
  'capture pool: could not clear leftovers': { err: string };
  'capture pool: a warm capture could not be handed out': { err: string };
  'capture pool: a warm capture did not start': { codec: string; err: string };
  'capture pool: warm capture listening': { key: string; rtpPort: number; pid: number };
  'capture pool: stopping a warm capture left by a previous run': { pid: number };
}

/** After capture: track files, coverage, composite, integrity, verdict (finish.ts and its helpers). */
interface ProcessingEvents {
  'could not finalize a track file: kept as written': { file: string; err: string };
  'track file unreadable': { file: string; err: string };
  'track file holds no packets: left out of the composite': { file: string };
  'composite written': { inputs: number; durationMs: number; speakerChanges: number; encodeMs: number };
  'composite failed': { err: string };
  'recording integrity check found problems': { problems: string[] };
  'recording is not whole': { status: string; notes: string[] };
  'finishing the recording failed': { err: string };
}

/** Uploads, retries, and recordings a killed node left behind (upload-files.ts, uploader.ts, recovery.ts, controller.ts). */
interface UploadEvents {
  'track file is empty or missing (no packets arrived): nothing to upload': { file: string };
  'upload attempt failed': { file: string; attempt: number; err: string };
  'upload confirmed, local copy deleted': { file: string; bytes: number; key: string };
  'recording upload failed': { err: string; permanent: boolean };
  'recording upload retry failed': { err: string };
  'recording could not be finished': { recordingId: string; err: string };
  'start of a recording that already ran here (a replayed command): ignored': { recordingId: string };
  'interrupted recordings finished': { recovered: number };
  'recording recovery failed': { err: string };
  'stopping an orphaned capture ffmpeg': { pid: number; file: string };
  'recording folder without a readable manifest: left for an operator': { recordingId: string; err: string };
  'recovering a recording interrupted by a node restart': { state: string };
}

export interface RecordingLogEvents extends RecorderEvents, CaptureEvents, ProcessingEvents, UploadEvents {}
export type RecordingLogEvent = keyof RecordingLogEvents;
