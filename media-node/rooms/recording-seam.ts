import type { Logger } from 'pino';
import type { NodeEvent } from '../../schema/wire/index.js';
import type { Room } from './room.js';

/**
 * The seam between rooms and the recorder (media-node/recording/, built separately).
 * A recorder gets the Room: `room.router` (every producer of the meeting is available there),
 * `room.producers()` for the current ones, `room.prepareOffers` to capture each new one before
 * anyone is offered it, and the events 'producerRemoved' / 'closed' for changes. It reports
 * progress with `emitEvent({ event: 'recordingStatus', … })`.
 */
export interface RecordingController {
  start(room: Room, recordingId: string): Promise<void>;
  /** `room` is undefined when the meeting is no longer on this node. */
  stop(meetingId: string, recordingId: string, room: Room | undefined): Promise<void>;
  /** Recordings running now (for heartbeats). */
  activeCount(): number;
  /** Stop everything (node shutting down). */
  close(): Promise<void>;
}

export interface RecordingContext {
  emitEvent(event: NodeEvent): void;
  /**
   * The node's pino logger; the recorder writes only its typed events through it
   * (media-node/recording/log.ts, events in recording/log-events.ts).
   */
  log: Logger;
  recordingsDir: string;
}

export type RecordingControllerFactory = (context: RecordingContext) => RecordingController;
