import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Producer, RtpCapabilities } from 'mediasoup/types';
import { AppError } from '../../schema/wire/errors.js';
import { DEFAULT_MIN_FREE_BYTES, freeBytes as statfsFreeBytes } from './disk.js';
import { finishRecording } from './finish.js';
import { closeLiveSpans, firstConsumerStart, followLiveness, keyFramesOf } from './live-spans.js';
import type { Log } from '../log.js';
import { typedLog } from './log.js';
import { ManifestWriter, MAX_SPEAKER_CHANGES, newManifest, type TrackRecord } from './manifest.js';
import { followSpeakers, NO_SPEAKERS, type SpeakerFollower } from './speaker-events.js';
import { TrackCapture } from './track-capture.js';
import type { Recorder, RecorderOptions, RecorderSnapshot, RecordingResult, TrackOwner } from './types.js';
import { within } from '../within.js';

/**
 * Starts a server-side recording of one meeting on this node: every producer handed to
 * `addProducer` is captured to its own file (no transcoding); `stop()` builds the composite,
 * uploads everything and deletes local copies once the store confirmed them.
 * Throws DISK_FULL when the disk is already below the free-space floor.
 */
export async function createRecorder(options: RecorderOptions): Promise<Recorder> {
  const recordingDir = path.join(options.dir, options.recordingId);
  const measureFree = options.freeBytes ?? statfsFreeBytes;
  const minFree = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  await fs.mkdir(options.dir, { recursive: true });
  // A recording id is used once: a replayed start must never write over a recording's files.
  await fs.mkdir(recordingDir).catch((error: unknown) => {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') throw new AppError('ALREADY_RECORDING', `recording ${options.recordingId} already exists on this node`);
    throw error;
  });
  const free = await measureFree(recordingDir);
  if (free < minFree) {
    await fs.rm(recordingDir, { recursive: true, force: true });
    throw new AppError('DISK_FULL', `only ${Math.round(free / 1048576)} MiB free for recordings (need ${Math.round(minFree / 1048576)} MiB)`);
  }
  const writer = new ManifestWriter(recordingDir, newManifest(options.recordingId, options.meetingId, Date.now()));
  await writer.save();
  // Speaker changes go to the manifest as they happen (the composite's layout follows them).
  const speakers = await followSpeakers(options.router, (participantId, at) => {
    if (writer.manifest.state !== 'recording' || writer.manifest.speakers.length >= MAX_SPEAKER_CHANGES) return;
    writer.manifest.speakers.push({ at, participantId });
    void writer.save();
  }).catch(() => NO_SPEAKERS);
  const recorder = new MeetingRecorder(options, recordingDir, writer, measureFree, minFree, speakers);
  if (!options.deferStart) await recorder.begin();
  return recorder;
}

/** Capabilities for the recording consumers: the router's codecs without RTX (ffmpeg asks for no retransmissions). */
export function recorderCapabilities(router: RecorderOptions['router']): RtpCapabilities {
  const caps = router.rtpCapabilities;
  return {
    codecs: (caps.codecs ?? []).filter((codec) => !/\/rtx$/i.test(codec.mimeType)).map((codec) => ({ ...codec, rtcpFeedback: [] })),
    headerExtensions: [],
  };
}

/** Default watchdog: a recording nobody stops ends by itself (the edge lost track of it). */
export const DEFAULT_MAX_DURATION_MS = 12 * 3600 * 1000;
/** begin() waits this long at most for the first captures to listen… */
const DEFAULT_BEGIN_WAIT_MS = 10_000;
/** …and then this long for their first packets (a video key frame comes within a key-frame request). */
const FIRST_PACKET_WAIT_MS = 3_000;

class MeetingRecorder implements Recorder {
  private readonly captures = new Map<string, TrackCapture>();
  private readonly pendingAdds = new Set<Promise<void>>();
  private readonly unfollow: Array<() => void> = [];
  private state: RecorderSnapshot['state'] = 'recording';
  private stopping: Promise<RecordingResult> | null = null;
  private diskTimer: NodeJS.Timeout;
  private maxDurationTimer: NodeJS.Timeout | null = null;
  private resolveDone!: (result: RecordingResult) => void;
  readonly done: Promise<RecordingResult>;
  private readonly capabilities: RtpCapabilities;
  private openGate!: () => void;
  /** Captures let packets flow once this resolves (at once unless `deferStart`). */
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));
  private beginning: Promise<void> | null = null;
  private readonly log: Log;
  private begun = false;

  constructor(
    private readonly options: RecorderOptions,
    private readonly recordingDir: string,
    private readonly writer: ManifestWriter,
    private readonly measureFree: (dir: string) => Promise<number>,
    private readonly minFree: number,
    private readonly speakers: SpeakerFollower,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.log = typedLog(options.log);
    this.capabilities = recorderCapabilities(options.router);
    this.diskTimer = setInterval(() => void this.checkDisk(), options.diskCheckIntervalMs ?? 5000);
    this.diskTimer.unref();
  }

  begin(maxWaitMs = DEFAULT_BEGIN_WAIT_MS): Promise<void> {
    this.beginning ??= (async () => {
      const captures = [...this.captures.values()];
      await within(maxWaitMs, Promise.all(captures.map((capture) => capture.listening)));
      if (this.state !== 'recording') return;
      // Packets flow; the window opens once every live track has delivered its first one (video:
      // its first key frame), so none starts the recording missing. Earlier packets are trimmed.
      this.openGate();
      await within(FIRST_PACKET_WAIT_MS, Promise.all(captures.filter((capture) => capture.producerLive).map((capture) => capture.flowing)));
      if (this.state !== 'recording') return;
      this.writer.manifest.startedAt = Date.now();
      this.begun = true;
      await this.writer.save();
      const maxMs = this.options.maxDurationMs ?? DEFAULT_MAX_DURATION_MS;
      this.maxDurationTimer = setTimeout(() => this.stopAtMaximum(maxMs), maxMs);
      this.maxDurationTimer.unref();
      this.log.info('recording started', { recordingId: this.recordingId, dir: this.recordingDir, tracks: captures.length });
      this.options.onStatus?.({ recordingId: this.recordingId, meetingId: this.meetingId, status: 'recording' });
    })();
    return this.beginning;
  }

  private stopAtMaximum(maxMs: number): void {
    if (this.state !== 'recording') return;
    const length = maxMs >= 3600_000 ? `${+(maxMs / 3600_000).toFixed(2)} h` : maxMs >= 60_000 ? `${Math.round(maxMs / 60_000)} min` : `${Math.round(maxMs / 1000)} s`;
    this.writer.manifest.endedEarly = `recording stopped by itself at its maximum length (${length})`;
    this.log.warn('recording reached its maximum length: stopping', { recordingId: this.recordingId, maxMs });
    this.stopping ??= this.finish('maximum length', false);
  }

  get recordingId(): string {
    return this.options.recordingId;
  }
  get meetingId(): string {
    return this.options.meetingId;
  }

  async addProducer(producer: Producer, owner: TrackOwner): Promise<void> {
    if (this.state !== 'recording' || producer.closed || this.captures.has(producer.id)) return;
    const { manifest } = this.writer;
    const base = `${owner.participantId}-${owner.source}-${producer.kind}`;
    const taken = manifest.tracks.filter((t) => t.trackId === base || t.trackId.startsWith(`${base}.`)).length;
    const record: TrackRecord = {
      trackId: taken === 0 ? base : `${base}.${taken}`,
      producerId: producer.id,
      participantId: owner.participantId,
      source: owner.source,
      kind: producer.kind,
      mimeType: '',
      contentType: '',
      finalExt: 'webm',
      segments: [],
      ...(owner.displayName ? { displayName: owner.displayName.slice(0, 100) } : {}),
      live: [],
      paused: [],
      troubles: [],
    };
    manifest.tracks.push(record);
    // Nobody consumes a fresh camera before this capture resumes or the room offers it to people.
    const captureResuming = new EventEmitter<{ resuming: [] }>();
    const captureResumes = (listener: () => void) => {
      captureResuming.once('resuming', listener);
      return () => void captureResuming.off('resuming', listener);
    };
    const consumerStarts = firstConsumerStart(captureResumes, owner.offeredBy);
    this.unfollow.push(followLiveness(producer, record, () => void this.writer.save(), { keyFrames: keyFramesOf(producer), consumerStarts, fresh: this.begun }));
    if (producer.kind === 'audio') void this.speakers.add(producer, owner.participantId);
    const capture = new TrackCapture({
      router: this.options.router,
      producer,
      record,
      recordingDir: this.recordingDir,
      rtpCapabilities: this.capabilities,
      log: this.log.child({ recordingId: this.recordingId }),
      maxRestarts: this.options.maxRestartsPerTrack ?? 5,
      restartDelayMs: this.options.restartDelayMs ?? 500,
      onChange: () => void this.writer.save(),
      onGap: (gap) => {
        manifest.gaps.push(gap);
        void this.writer.save();
      },
      onProducerGone: () => void this.removeProducer(producer.id),
      publishedAt: owner.publishedAt ?? Date.now(),
      gate: this.gate,
      // The first captures start cold (the window waits for them); warm ones are kept for tracks
      // published while recording, and for restarts, which nothing waits for.
      pool: () => (this.begun ? this.options.pool : undefined),
      onResuming: () => captureResuming.emit('resuming'),
    });
    this.captures.set(producer.id, capture);
    const adding = capture.start().catch((error: unknown) => {
      this.log.error('could not start capturing a producer', { err: error instanceof Error ? error.message : String(error), producerId: producer.id });
    });
    this.pendingAdds.add(adding);
    await adding;
    this.pendingAdds.delete(adding);
  }

  async removeProducer(producerId: string): Promise<void> {
    const capture = this.captures.get(producerId);
    if (!capture) return;
    await capture.stop('producerClosed');
  }

  stop(reason = 'stopped'): Promise<RecordingResult> {
    this.stopping ??= this.finish(reason, false);
    return this.stopping;
  }

  private async finish(reason: string, diskFull: boolean): Promise<RecordingResult> {
    this.state = 'stopping';
    clearInterval(this.diskTimer);
    if (this.maxDurationTimer) clearTimeout(this.maxDurationTimer);
    const { manifest } = this.writer;
    manifest.stoppedAt = Date.now();
    // Stopped before it began: an empty window (the verdict says there was no media).
    if (!this.begun) manifest.startedAt = manifest.stoppedAt;
    for (const unfollow of this.unfollow) unfollow();
    this.speakers.close();
    for (const track of manifest.tracks) closeLiveSpans(track, manifest.stoppedAt);
    // Stop first (a capture still starting sees it and gives up), then let waiting starts return.
    const stopAll = () => Promise.all([...this.captures.values()].map((capture) => capture.stop('stopped')));
    await stopAll();
    this.openGate();
    await Promise.allSettled([...this.pendingAdds]);
    await stopAll();
    this.log.info('recording stopped: processing', { recordingId: this.recordingId, reason, tracks: manifest.tracks.length });
    const result = await finishRecording({
      recordingDir: this.recordingDir,
      writer: this.writer,
      uploader: this.options.uploader,
      log: this.log.child({ recordingId: this.recordingId }),
      layout: this.options.composite,
      onStatus: this.options.onStatus,
      skipComposite: diskFull,
    });
    this.state = 'done';
    this.resolveDone(result);
    return result;
  }

  /** Below the free-space floor: stop now (per-track files are kept and uploaded), report DISK_FULL. */
  private async checkDisk(): Promise<void> {
    if (this.state !== 'recording') return;
    const free = await this.measureFree(this.recordingDir).catch(() => Number.POSITIVE_INFINITY);
    if (free >= this.minFree || this.state !== 'recording') return;
    const message = `disk almost full (${Math.round(free / 1048576)} MiB free): recording stopped, per-track files kept`;
    this.log.error('disk almost full: recording stopped, per-track files kept', { recordingId: this.recordingId, free, freeMiB: Math.round(free / 1048576) });
    this.writer.manifest.error = { code: 'DISK_FULL', message };
    this.stopping ??= this.finish('disk full', true);
  }

  describe(): RecorderSnapshot {
    return {
      state: this.state,
      tracks: this.writer.manifest.tracks.map((track) => ({
        trackId: track.trackId,
        kind: track.kind,
        participantId: track.participantId,
        source: track.source,
        segments: track.segments.length,
        restarts: this.captures.get(track.producerId)?.restartCount ?? 0,
        segmentStarts: track.segments.map((segment) => segment.firstRtpWallMs),
      })),
      speakers: this.writer.manifest.speakers.map((change) => ({ ...change })),
    };
  }

  /** pid of the ffmpeg capturing a producer now (tests kill it). */
  ffmpegPidOf(producerId: string): number | null {
    return this.captures.get(producerId)?.currentFfmpegPid() ?? null;
  }
}
