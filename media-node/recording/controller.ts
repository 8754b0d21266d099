import { AppError } from '../../schema/wire/errors.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import type { RecordingController, RecordingControllerFactory } from '../rooms/recording-seam.js';
import type { Room } from '../rooms/room.js';
import type { RoomProducer } from '../rooms/types.js';
import { createRecorder } from './recorder.js';
import { recoverRecordings } from './recovery.js';
import type { CompositeLayout, Recorder, RecordingStatusUpdate, Uploader } from './types.js';

export interface RecordingControllerOptions {
  uploader: Uploader;
  /** Free-space floor for RECORDINGS_DIR (bytes). */
  minFreeBytes?: number;
  layout?: Partial<CompositeLayout>;
  /** Finish recordings a killed predecessor left in RECORDINGS_DIR (default true). */
  recoverOnStart?: boolean;
}

interface Active {
  recorder: Recorder;
  detach: () => void;
}

/**
 * The node's recording seam (media-node/rooms/recording-seam.ts): one Recorder per meeting,
 * fed with the room's producers as they come and go, reporting every status change to the edge
 * as a `recordingStatus` event. stop() returns once capture has ended; composing and uploading
 * continue in the background and report 'processing' → 'uploading' → 'ready' | 'failed'.
 */
export function recordingControllerFactory(options: RecordingControllerOptions): RecordingControllerFactory {
  return (context) => {
    const byMeeting = new Map<string, Active>();
    const finishing = new Set<Promise<unknown>>();
    const track = <T>(work: Promise<T>) => {
      finishing.add(work);
      void work.finally(() => finishing.delete(work));
      return work;
    };
    const report = (update: RecordingStatusUpdate) => {
      const event: NodeEvent = {
        event: 'recordingStatus',
        meetingId: update.meetingId,
        recordingId: update.recordingId,
        status: update.status,
        ...(update.durationMs !== undefined ? { durationMs: Math.round(update.durationMs) } : {}),
        ...(update.files ? { files: update.files.slice(0, 256) } : {}),
        ...(update.error ? { error: { code: update.error.code, message: update.error.message.slice(0, 500) } } : {}),
      };
      context.emitEvent(event);
    };
    const recovery =
      options.recoverOnStart === false
        ? Promise.resolve()
        : track(recoverRecordings({ dir: context.recordingsDir, uploader: options.uploader, log: context.log, layout: options.layout, onStatus: report })).then(
            (results) => {
              if (results.length > 0) context.log.info({ recovered: results.length }, 'interrupted recordings finished');
            },
            (error: unknown) => context.log.error({ err: String(error) }, 'recording recovery failed'),
          );

    const end = (meetingId: string, active: Active, reason: string) => {
      if (byMeeting.get(meetingId) !== active) return;
      byMeeting.delete(meetingId);
      active.detach();
      track(active.recorder.stop(reason));
    };

    const controller: RecordingController = {
      async start(room: Room, recordingId: string) {
        const existing = byMeeting.get(room.meetingId);
        if (existing?.recorder.recordingId === recordingId) return; // a repeated command
        if (existing) throw new AppError('ALREADY_RECORDING', `meeting is already being recorded (${existing.recorder.recordingId})`);
        const recorder = await createRecorder({
          router: room.router,
          recordingId,
          meetingId: room.meetingId,
          dir: context.recordingsDir,
          log: context.log.child({ meetingId: room.meetingId, recordingId }),
          uploader: options.uploader,
          minFreeBytes: options.minFreeBytes,
          composite: options.layout,
          onStatus: report,
        });
        const addCopy = (roomProducer: RoomProducer) => {
          const producer = room.routers.length > 0 ? roomProducer.copies.get(room.router.id) : undefined;
          if (producer) void recorder.addProducer(producer, { participantId: roomProducer.participantId, source: roomProducer.source });
        };
        const onRemoved = (roomProducer: RoomProducer) => void recorder.removeProducer(roomProducer.id);
        const onClosed = () => end(room.meetingId, active, 'meeting ended');
        room.on('producerAdded', addCopy);
        room.on('producerRemoved', onRemoved);
        room.once('closed', onClosed);
        const active: Active = {
          recorder,
          detach: () => {
            room.off('producerAdded', addCopy);
            room.off('producerRemoved', onRemoved);
            room.off('closed', onClosed);
          },
        };
        byMeeting.set(room.meetingId, active);
        // A recording that stops itself (full disk) frees the meeting for a new one.
        void recorder.done.then(() => end(room.meetingId, active, 'recorder finished'));
        for (const roomProducer of room.producers()) {
          void recorder.addProducer(roomProducer.producer, { participantId: roomProducer.participantId, source: roomProducer.source });
        }
      },

      async stop(meetingId: string, recordingId: string) {
        const active = byMeeting.get(meetingId);
        if (!active || active.recorder.recordingId !== recordingId) throw new AppError('NOT_RECORDING', 'this recording is not running on this node');
        end(meetingId, active, 'stopped by host');
      },

      activeCount: () => byMeeting.size + finishing.size,

      async close() {
        for (const [meetingId, active] of [...byMeeting]) end(meetingId, active, 'node shutting down');
        await recovery;
        await Promise.allSettled([...finishing]);
      },
    };
    return controller;
  };
}
