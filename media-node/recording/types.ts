import type { CapturePool } from './capture-pool.js';
import type { Producer, Router } from 'mediasoup/types';
import type { MediaKind, MediaSource } from '../../schema/wire/common.js';
import type { ErrorCode } from '../../schema/wire/errors.js';
import type { RecordingFile, RecordingStatus } from '../../schema/wire/node-control.js';
import { typedLog, type RecorderLogger } from './log.js';

/** Who a captured producer belongs to; the recorder never looks inside the room for this. */
export interface TrackOwner {
  participantId: string;
  source: MediaSource;
  /** Shown in host-facing notes ("Ann's microphone …"). */
  displayName?: string;
  /** When the producer was published (Date.now()); unknown: treated as just published. */
  publishedAt?: number;
  /**
   * When the room offers the producer to its people at the latest (Date.now()): until then, or
   * until this recording's capture of it resumes, nobody consumes it. Unknown: already offered.
   */
  offeredBy?: number;
}

export interface RecorderOptions {
  router: Router;
  recordingId: string;
  /** The meeting's link id (the node's room key). */
  meetingId: string;
  /** Parent folder; the recorder writes into `<dir>/<recordingId>/`. */
  dir: string;
  log: RecorderLogger;
  uploader: Uploader;
  /** Stop with DISK_FULL when free space falls below this many bytes (default 512 MiB). */
  minFreeBytes?: number;
  /** How often free space is re-checked while recording (default 5 s). */
  diskCheckIntervalMs?: number;
  /** Composite canvas (default 1280×720 at 25 fps). */
  composite?: Partial<CompositeLayout>;
  /** Told about every status change (recording → processing → uploading → ready | failed). */
  onStatus?: (update: RecordingStatusUpdate) => void;
  /** Restart policy for a dying ffmpeg (default 5 restarts per track, 500 ms apart). */
  maxRestartsPerTrack?: number;
  restartDelayMs?: number;
  /** Test seam: how free space is measured (default fs.statfs on `dir`). */
  freeBytes?: (dir: string) => Promise<number>;
  /**
   * Hold the first captures until `begin()`: the window starts when they all listen, so none
   * misses its first second to ffmpeg's start-up. Default false (the window starts now).
   */
  deferStart?: boolean;
  /** Watchdog: a recording nobody stops ends by itself after this long (default 12 h). */
  maxDurationMs?: number;
  /** Warm capture ffmpegs shared by the node's recordings (capture-pool.ts). */
  pool?: CapturePool;
}

export interface CompositeLayout {
  width: number;
  height: number;
  fps: number;
  /** Most video tiles in the composite (screens first, then cameras by arrival); every track keeps its own file. */
  maxTiles: number;
}

/** The node's statuses: the wire's, plus 'incomplete' (files usable, not whole: see notes). */
export type RecorderStatus = RecordingStatus | 'incomplete';

export interface RecordingStatusUpdate {
  recordingId: string;
  meetingId: string;
  status: RecorderStatus;
  durationMs?: number;
  files?: RecordingFile[];
  error?: { code: ErrorCode; message: string };
  /** Host-facing notes on what is missing (with 'incomplete' and 'failed'). */
  notes?: string[];
}

export interface RecordingResult {
  recordingId: string;
  meetingId: string;
  /** 'uploading': not final, the store could not be reached; files kept, upload tried again later. */
  status: 'ready' | 'incomplete' | 'failed' | 'uploading';
  startedAt: number;
  stoppedAt: number;
  durationMs: number;
  files: RecordingFile[];
  error?: { code: ErrorCode; message: string };
  notes: string[];
}

export interface Recorder {
  readonly recordingId: string;
  readonly meetingId: string;
  /**
   * Start capturing a producer (call for every existing producer and every new one). Resolves
   * once packets flow to the capture: with `deferStart`, not before `begin()`.
   */
  addProducer(producer: Producer, owner: TrackOwner): Promise<void>;
  /**
   * With `deferStart`: waits (at most `maxWaitMs`) until the captures added so far listen, then
   * starts the window and lets their packets flow; reports 'recording'. Idempotent.
   */
  begin(maxWaitMs?: number): Promise<void>;
  /** The producer is gone (its owner left or closed it): finish its file. */
  removeProducer(producerId: string): Promise<void>;
  /** Stop capturing, build the composite, upload everything, delete local copies once confirmed. */
  stop(reason?: string): Promise<RecordingResult>;
  /** Resolves with the outcome whenever the recording ends (also when it stops itself: DISK_FULL). */
  readonly done: Promise<RecordingResult>;
  /** Capture-side facts for tests and metrics. */
  describe(): RecorderSnapshot;
  /** pid of the ffmpeg capturing a producer right now (fault tests kill it). */
  ffmpegPidOf(producerId: string): number | null;
}

export interface RecorderSnapshot {
  state: 'recording' | 'stopping' | 'done';
  tracks: Array<{ trackId: string; kind: MediaKind; participantId: string; source: MediaSource; segments: number; restarts: number; /** Wall clock of each segment's first packet. */ segmentStarts: Array<number | null> }>;
  /** Dominant-speaker changes recorded so far (wall clock). */
  speakers: Array<{ at: number; participantId: string }>;
}

/** Where finished files go. Implementations must confirm what they stored. */
export interface Uploader {
  readonly name: string;
  /** Upload one local file as `<recordingId>/<name>` and return what the store confirms it holds. */
  upload(input: UploadInput): Promise<UploadReceipt>;
}

export interface UploadInput {
  recordingId: string;
  name: string;
  path: string;
  contentType: string;
  bytes: number;
  sha256: string;
}

export interface UploadReceipt {
  key: string;
  bytes: number;
  sha256: string;
}
