import type { types } from 'mediasoup';
import type { ErrorCode, MediaKind, MediaNotification, MediaSource, Permission } from '../../schema/wire/index.js';
import type { WorkerSlot } from '../workers/worker-pool.js';

/** One router of a room, on one worker. A room has at most one router per worker. */
export interface RoomRouter {
  slot: WorkerSlot;
  router: types.Router;
}

/**
 * A published track as the room sees it: the producer on its publisher's router plus the piped
 * copy on every other router of the room (pipeToRouter keeps the id, so all share `id`).
 */
export interface RoomProducer {
  id: string;
  participantId: string;
  displayName: string;
  kind: MediaKind;
  source: MediaSource;
  origin: types.Producer;
  originRouter: types.Router;
  copies: Map<string, types.Producer>;
  /** When it was published here (Date.now()): a young simulcast producer's layers still come and go. */
  publishedAt: number;
}

/** Where a participant's session sends what the node has to say. */
export interface ParticipantSink {
  notify(message: MediaNotification): void;
  /**
   * Ends the signaling connection (after a final `closed` notification) with the code's WebSocket
   * close code from the error table; CONFLICT means a newer connection replaced this one.
   */
  disconnect(code: ErrorCode, reason: string): void;
}

export interface ParticipantIdentity {
  participantId: string;
  displayName: string;
  permissions: readonly Permission[];
}
