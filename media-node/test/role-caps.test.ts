import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Permission } from '../../schema/wire/index.js';
import { Log } from '../log.js';
import type { TokenIssued } from '../rooms/ended-meetings.js';
import { RoomManager } from '../rooms/room-manager.js';

/**
 * A role change holds later sessions whose token was minted by then (setPermissions.changedAt, the
 * edge's clock). An older edge sends no changedAt: the node's clock stands in, and the edge's may be
 * a little ahead of it. The cap a later session gets is RoomManager.capOf's answer (join() asks it
 * with the token's iat/iatMs); it is read here directly, without workers (neither touches a room).
 */

function manager(): RoomManager {
  return new RoomManager({} as never, {} as never, 60 * 60_000, {} as never, Log.wrap(pino({ level: 'silent' })));
}

function capOf(rooms: RoomManager, meetingId: string, participantId: string, issued: TokenIssued): readonly Permission[] | null {
  return (rooms as unknown as { capOf(m: string, p: string, i: TokenIssued): readonly Permission[] | null }).capOf(meetingId, participantId, issued);
}

describe('setPermissions without changedAt (the node\'s clock stands in)', () => {
  it('a token the edge minted before the change is still capped when the node\'s clock is a little behind the edge\'s', () => {
    const rooms = manager();
    // Edge clock 500 ms ahead of the node's (ended-meetings.ts allows CLOCK_SKEW_MS = 1 s between them).
    const edgeNow = Date.now() + 500;
    // The speaker's publishing token, minted on the edge 100 ms before the host sent them back to the audience…
    const minted: TokenIssued = { seconds: Math.floor((edgeNow - 100) / 1000), ms: edgeNow - 100 };
    // …and the change reaches the node without changedAt (schema: optional; absent = "when the node got it").
    rooms.setPermissions('AAAAAAAAAAAAAAAAAAAAAA', 'speaker-0001', ['subscribe']);
    expect(capOf(rooms, 'AAAAAAAAAAAAAAAAAAAAAA', 'speaker-0001', minted)).toEqual(['subscribe']);
  });

  it('a token minted well after the change is not capped', () => {
    const rooms = manager();
    rooms.setPermissions('AAAAAAAAAAAAAAAAAAAAAA', 'speaker-0002', ['subscribe']);
    const later = Date.now() + 5_000;
    expect(capOf(rooms, 'AAAAAAAAAAAAAAAAAAAAAA', 'speaker-0002', { seconds: Math.floor(later / 1000), ms: later })).toBeNull();
  });
});
