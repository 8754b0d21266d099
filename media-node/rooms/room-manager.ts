import { EventEmitter } from 'node:events';
import { AppError } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { Participant, ParticipantOptions } from './participant.js';
import { Room } from './room.js';
import type { ParticipantIdentity, ParticipantSink } from './types.js';

interface RoomManagerEvents {
  participantLeft: [meetingId: string, participantId: string, reason: string];
  roomClosed: [meetingId: string];
}

/**
 * The node's meetings: one Room per meeting id, created once even under concurrent joins,
 * closed when its last participant leaves. Remembers participants the edge removed so their
 * tokens are refused until long after they expire.
 */
export class RoomManager extends EventEmitter<RoomManagerEvents> {
  readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  private readonly revoked = new Map<string, Map<string, number>>();
  draining = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly participantOptions: ParticipantOptions,
    private readonly revokedTtlMs: number,
    private readonly metrics: Metrics,
    private readonly log: Log,
  ) {
    super();
  }

  async join(meetingId: string, identity: ParticipantIdentity, sink: ParticipantSink): Promise<{ room: Room; participant: Participant }> {
    if (this.isRevoked(meetingId, identity.participantId)) throw new AppError('REMOVED_BY_HOST', 'this participant was removed from the meeting');
    // A room may close (last leave) between finding it and joining it: then open a fresh one.
    for (let attempt = 0; attempt < 3; attempt++) {
      const room = await this.roomFor(meetingId);
      try {
        const participant = await room.join(identity, sink);
        return { room, participant };
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'MEETING_ENDED' && room.closed)) throw error;
      }
    }
    throw new AppError('INTERNAL', 'could not join the meeting');
  }

  private async roomFor(meetingId: string): Promise<Room> {
    const existing = this.rooms.get(meetingId);
    if (existing && !existing.closed) return existing;
    const opening = this.opening.get(meetingId);
    if (opening) return opening;
    if (this.draining) throw new AppError('NODE_DRAINING', 'this media node is draining and takes no new meetings');
    const promise = Room.create(meetingId, this.pool, this.participantOptions, this.metrics, this.log).then((room) => {
      this.rooms.set(meetingId, room);
      room.on('participantLeft', (participantId, reason) => this.emit('participantLeft', meetingId, participantId, reason));
      room.once('closed', () => {
        if (this.rooms.get(meetingId) === room) this.rooms.delete(meetingId);
        this.emit('roomClosed', meetingId);
      });
      return room;
    });
    this.opening.set(meetingId, promise);
    try {
      return await promise;
    } finally {
      this.opening.delete(meetingId);
    }
  }

  revoke(meetingId: string, participantId: string): void {
    this.pruneRevoked();
    let ids = this.revoked.get(meetingId);
    if (!ids) this.revoked.set(meetingId, (ids = new Map()));
    ids.set(participantId, Date.now());
  }

  isRevoked(meetingId: string, participantId: string): boolean {
    const revokedAt = this.revoked.get(meetingId)?.get(participantId);
    return revokedAt !== undefined && Date.now() - revokedAt < this.revokedTtlMs;
  }

  private pruneRevoked(): void {
    const now = Date.now();
    for (const [meetingId, ids] of this.revoked) {
      for (const [participantId, at] of ids) if (now - at >= this.revokedTtlMs) ids.delete(participantId);
      if (ids.size === 0) this.revoked.delete(meetingId);
    }
  }

  totals(): { rooms: number; participants: number } {
    let participants = 0;
    for (const room of this.rooms.values()) participants += room.participants.size;
    return { rooms: this.rooms.size, participants };
  }

  closeAll(reason: string): void {
    for (const room of [...this.rooms.values()]) room.close('NODE_DRAINING', reason);
  }
}
