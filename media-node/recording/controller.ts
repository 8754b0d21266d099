import type { Router } from 'mediasoup/types';
import { AppError } from '../../schema/wire/errors.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import type { RecordingContext, RecordingController } from '../rooms/recording-seam.js';
import type { RoomProducer } from '../rooms/types.js';
import path from 'node:path';
import { CapturePool } from './capture-pool.js';
import { createRecorder, recorderCapabilities } from './recorder.js';
import { typedLog } from './log.js';
import { recoverRecordings } from './recovery.js';
import type { CompositeLayout, Recorder, RecordingStatusUpdate, Uploader } from './types.js';

export interface RecordingControllerOptions {
  uploader: Uploader;
  /** Free-space floor for RECORDINGS_DIR (bytes). */
  minFreeBytes?: number;
  layout?: Partial<CompositeLayout>;
  /** Finish recordings a killed predecessor left in RECORDINGS_DIR (default true). */
  recoverOnStart?: boolean;
  /** Watchdog: a recording nobody stops ends by itself after this long (default 12 h). */
  maxDurationMs?: number;
  /** How long a start waits for the first captures to listen before the window opens anyway. */
  beginWaitMs?: number;
  /** First delay before uploads the store could not take are tried again (doubling, ≤ 15 min; default 60 s). */
  uploadRetryMs?: number;
  /** Warm capture ffmpegs kept per codec (Opus, VP8…), so tracks published while recording lose nothing (default 2; 0: none). */
  warmCapturesPerCodec?: number;
}

type RoomProducerListener = (roomProducer: RoomProducer) => void;

/** What the controller needs of a Room (media-node/rooms/room.ts): its primary router, producers and changes. */
export interface RecordableRoom {
  readonly meetingId: string;
  readonly router: Router;
  readonly routers: readonly unknown[];
  producers(): Iterable<RoomProducer & { producer: RoomProducer['origin'] }>;
  on(event: 'producerRemoved', listener: RoomProducerListener): unknown;
  off(event: 'producerRemoved', listener: RoomProducerListener): unknown;
  once(event: 'closed', listener: () => void): unknown;
  off(event: 'closed', listener: () => void): unknown;
  /**
   * Work on each new producer before the room offers it to anyone (Room.prepareOffers), which it
   * does by `offeredBy` (Date.now() ms) at the latest; the answer unregisters it.
   */
  prepareOffers(step: (roomProducer: RoomProducer, offeredBy: number) => Promise<void>): () => void;
  /** Keeps the room open while empty and still fed by other nodes; the answer lets go (Room.hold). */
  hold(): () => void;
}

/** The seam's controller; it records any RecordableRoom (tests drive it without signaling). */
export interface NodeRecordingController extends RecordingController {
  start(room: RecordableRoom, recordingId: string): Promise<void>;
  /** Warm capture ffmpegs listening now (metrics, tests). */
  warmCaptures(): number;
}

interface Active {
  recorder: Recorder;
  detach: () => void;
  /** Lets go of the room once the recording is finished with it. */
  releaseRoom: () => void;
}

/** The wire's recordingStatus event for a status update ('incomplete' travels as 'failed' + incomplete). */
export function recordingStatusEvent(update: RecordingStatusUpdate): Extract<NodeEvent, { event: 'recordingStatus' }> {
  const incomplete = update.status === 'incomplete';
  return {
    event: 'recordingStatus',
    meetingId: update.meetingId,
    recordingId: update.recordingId,
    status: update.status === 'incomplete' ? 'failed' : update.status,
    ...(update.durationMs !== undefined ? { durationMs: Math.round(update.durationMs) } : {}),
    ...(update.files ? { files: update.files.slice(0, 256) } : {}),
    ...(update.error ? { error: { code: update.error.code, message: update.error.message.slice(0, 500) } } : {}),
    ...(incomplete ? { incomplete: true } : {}),
    ...(update.notes && update.notes.length > 0 ? { notes: update.notes.slice(0, 32).map((note) => note.slice(0, 300)) } : {}),
  };
}

/**
 * The node's recording seam (media-node/rooms/recording-seam.ts): one Recorder per meeting,
 * fed with the room's producers as they come and go (also those published after the start),
 * reporting every status change to the edge as a `recordingStatus` event keyed by recordingId.
 * start() returns once the first captures listen (the window starts then); stop() once capture
 * has ended; composing and uploading continue in the background and end 'ready' | 'failed'.
 */
export function recordingControllerFactory(options: RecordingControllerOptions): (context: RecordingContext) => NodeRecordingController {
  return (context) => {
    const log = typedLog(context.log);
    const byMeeting = new Map<string, Active>();
    /** Starts in flight, by meeting: a repeated start joins it, a stop waits until it is registered. */
    const starting = new Map<string, { recordingId: string; work: Promise<void>; registered: Promise<void> }>();
    const finishing = new Set<Promise<unknown>>();
    /** Recordings finishing in this process: the upload retry leaves their folders alone. */
    const finishingIds = new Set<string>();
    /** Recordings this process ran: a start replayed after its stop must not record again. */
    const ran = new Set<string>();
    const remember = (recordingId: string) => {
      ran.add(recordingId);
      if (ran.size > 10_000) ran.delete(ran.values().next().value!);
    };
    const report = (update: RecordingStatusUpdate) => context.emitEvent(recordingStatusEvent(update));
    // Created with the first recording: a node that never records starts no ffmpeg.
    let pool: CapturePool | null = null;
    const warmPool = (room: RecordableRoom) => {
      const perCodec = options.warmCapturesPerCodec ?? 2;
      if (perCodec <= 0) return null;
      pool ??= new CapturePool(path.join(context.recordingsDir, '.capture-pool'), context.log, perCodec);
      pool.prime(recorderCapabilities(room.router).codecs ?? []);
      return pool;
    };
    const track = <T>(work: Promise<T>) => {
      finishing.add(work);
      void work.then(
        () => finishing.delete(work),
        () => finishing.delete(work),
      );
      return work;
    };
    // Uploads the store could not take yet ('uploading', files kept) are tried again, less and
    // less often, until they are final; a node restart tries them as well (recovery).
    let closed = false;
    let retryTimer: NodeJS.Timeout | null = null;
    let retryDelayMs = options.uploadRetryMs ?? 60_000;
    const retryUploads = () => {
      retryTimer = null;
      const busy = new Set([...byMeeting.values()].map((active) => active.recorder.recordingId));
      void track(recoverRecordings({ dir: context.recordingsDir, uploader: options.uploader, log: context.log, layout: options.layout, onStatus: report, only: (m) => m.state === 'uploading' && !busy.has(m.recordingId) && !finishingIds.has(m.recordingId) }))
        .then((results) => {
          retryDelayMs = Math.min(15 * 60_000, retryDelayMs * 2);
          if (results.some((r) => r.status === 'uploading')) scheduleUploadRetry();
        })
        .catch((error: unknown) => log.error('recording upload retry failed', { err: String(error) }));
    };
    const scheduleUploadRetry = () => {
      if (closed || retryTimer) return;
      retryTimer = setTimeout(retryUploads, retryDelayMs);
      retryTimer.unref();
    };
    const recovery =
      options.recoverOnStart === false
        ? Promise.resolve()
        : track(recoverRecordings({ dir: context.recordingsDir, uploader: options.uploader, log: context.log, layout: options.layout, onStatus: report })).then(
            (results) => {
              if (results.length > 0) log.info('interrupted recordings finished', { recovered: results.length });
              if (results.some((r) => r.status === 'uploading')) scheduleUploadRetry();
            },
            (error: unknown) => log.error('recording recovery failed', { err: String(error) }),
          );

    const end = (meetingId: string, active: Active, reason: string) => {
      if (byMeeting.get(meetingId) !== active) return;
      byMeeting.delete(meetingId);
      active.detach();
      const { recorder } = active;
      finishingIds.add(recorder.recordingId);
      // finishRecording never throws; should anything under it still do, the edge hears 'failed'.
      track(recorder.stop(reason))
        .then((result) => {
          if (result.status === 'uploading') scheduleUploadRetry();
        })
        .catch((error: unknown) => {
          log.error('recording could not be finished', { recordingId: recorder.recordingId, err: String(error) });
          report({ recordingId: recorder.recordingId, meetingId, status: 'failed', error: { code: 'INTERNAL', message: `finishing failed: ${String(error)}` } });
        })
        .finally(() => {
          finishingIds.delete(recorder.recordingId);
          active.releaseRoom();
        });
    };

    const begin = async (room: RecordableRoom, recordingId: string, registered: () => void): Promise<void> => {
      const warm = warmPool(room);
      const recorder = await createRecorder({
        router: room.router,
        recordingId,
        meetingId: room.meetingId,
        dir: context.recordingsDir,
        log: log.child({ meetingId: room.meetingId, recordingId }),
        uploader: options.uploader,
        minFreeBytes: options.minFreeBytes,
        composite: options.layout,
        onStatus: report,
        deferStart: true,
        ...(warm ? { pool: warm } : {}),
        ...(options.maxDurationMs !== undefined ? { maxDurationMs: options.maxDurationMs } : {}),
      });
      const capture = async (roomProducer: RoomProducer, producer: RoomProducer['origin'] | undefined, offeredBy?: number) => {
        if (producer) await recorder.addProducer(producer, { participantId: roomProducer.participantId, source: roomProducer.source, displayName: roomProducer.displayName, publishedAt: roomProducer.publishedAt, ...(offeredBy !== undefined ? { offeredBy } : {}) });
      };
      // A producer published while recording: its copy on the room's first router is captured too,
      // and the room offers it to its people once the capture consumes it (within a limit): its
      // live span opens at the first key frame after either (live-spans.ts). A viewer consuming
      // first (the capture slower than the limit) had that one, and the capture waited for the
      // next, which Chrome may hold back (key-frame-requests.ts): up to a second of it lost.
      const stopPreparing = room.prepareOffers((roomProducer, offeredBy) => capture(roomProducer, room.routers.length > 0 ? roomProducer.copies.get(room.router.id) : undefined, offeredBy));
      const onRemoved = (roomProducer: RoomProducer) => void recorder.removeProducer(roomProducer.id);
      const onClosed = () => end(room.meetingId, active, 'meeting ended');
      room.on('producerRemoved', onRemoved);
      room.once('closed', onClosed);
      const active: Active = {
        recorder,
        // While other nodes of a cascaded meeting still feed the room, it outlives its last
        // participant here, and the recording goes on (Room.hold).
        releaseRoom: room.hold(),
        detach: () => {
          stopPreparing();
          room.off('producerRemoved', onRemoved);
          room.off('closed', onClosed);
        },
      };
      byMeeting.set(room.meetingId, active);
      registered();
      // A recording that stops itself (full disk, maximum length) frees the meeting for a new one.
      void recorder.done.then(() => end(room.meetingId, active, 'recorder finished'));
      for (const roomProducer of room.producers()) void capture(roomProducer, roomProducer.producer);
      await recorder.begin(options.beginWaitMs);
    };

    const controller: NodeRecordingController = {
      async start(room: RecordableRoom, recordingId: string) {
        const inFlight = starting.get(room.meetingId);
        if (inFlight?.recordingId === recordingId) return inFlight.work; // a repeated command
        const existing = byMeeting.get(room.meetingId);
        if (existing?.recorder.recordingId === recordingId) return; // a repeated command
        if (ran.has(recordingId)) {
          log.warn('start of a recording that already ran here (a replayed command): ignored', { recordingId });
          return;
        }
        const other = inFlight?.recordingId ?? existing?.recorder.recordingId;
        if (other) throw new AppError('ALREADY_RECORDING', `meeting is already being recorded (${other})`);
        remember(recordingId);
        let markRegistered!: () => void;
        const registered = new Promise<void>((resolve) => (markRegistered = resolve));
        const work = begin(room, recordingId, markRegistered)
          .catch((error: unknown) => {
            ran.delete(recordingId); // it never ran: the edge may try the same id again
            throw error;
          })
          .finally(() => {
            markRegistered();
            starting.delete(room.meetingId);
          });
        starting.set(room.meetingId, { recordingId, work, registered });
        return work;
      },

      async stop(meetingId: string, recordingId: string) {
        // A stop that overtakes its start (commands run concurrently) waits until the recorder
        // exists, then stops it (its captures, still starting, give up).
        const inFlight = starting.get(meetingId);
        if (inFlight?.recordingId === recordingId) await inFlight.registered;
        const active = byMeeting.get(meetingId);
        if (!active || active.recorder.recordingId !== recordingId) throw new AppError('NOT_RECORDING', 'this recording is not running on this node');
        end(meetingId, active, 'stopped by host');
      },

      activeCount: () => byMeeting.size + finishing.size,

      warmCaptures: () => pool?.idleCount ?? 0,

      async close() {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
        await Promise.allSettled([...starting.values()].map((s) => s.work));
        for (const [meetingId, active] of [...byMeeting]) end(meetingId, active, 'node shutting down');
        await recovery;
        await Promise.allSettled([...finishing]);
        await pool?.close();
      },
    };
    return controller;
  };
}
