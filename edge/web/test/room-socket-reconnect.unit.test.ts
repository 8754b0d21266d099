import { describe, expect, it, vi } from 'vitest';
import { assignment, FakeSocket, fireWindow, inCall, view, welcome, withFakeBrowser } from './call-fakes.js';

/**
 * The room socket reconnecting when the network comes back ('online') or a laptop wakes (the
 * watchdog finds the socket silent): only one room socket is ever current. The RoomDO
 * (edge/room/connect.ts) welcomes each connect of the session and closes the participant's older
 * socket with CONFLICT ("replaced by a newer connection", close code 4005); a page with two
 * sockets open ended its own call with that.
 */

withFakeBrowser();

/** Plays the RoomDO for each reconnect in order: welcomed, and the older one still open replaced. */
function roomWelcomes(reconnects: FakeSocket[]): void {
  for (const [i, socket] of reconnects.entries()) {
    socket.open();
    socket.serverSays(welcome(view(), assignment('node-a', 5)));
    const older = reconnects[i - 1];
    if (older && older.readyState === FakeSocket.OPEN) older.serverCloses('CONFLICT', 4005, 'replaced by a newer connection');
  }
}

describe('coming back online while the room socket waits to reconnect', () => {
  it('opens one room socket, and the call goes on', async () => {
    vi.useFakeTimers();
    const { call, room } = await inCall();
    room.drop();
    expect(call.roomStatus).toBe('reconnecting');
    fireWindow('online');
    await vi.advanceTimersByTimeAsync(1_000);
    const reconnects = FakeSocket.all.slice(1);
    roomWelcomes(reconnects);
    await vi.advanceTimersByTimeAsync(0);
    expect({ roomSocketsOpened: reconnects.length, phase: call.phase, ending: call.ending?.message ?? null, roomStatus: call.roomStatus }).toEqual({
      roomSocketsOpened: 1,
      phase: 'in-call',
      ending: null,
      roomStatus: 'open',
    });
  });
});

describe('a laptop wakes from sleep (room socket silent, then the browser says online)', () => {
  it('one room socket reconnects, and the call goes on', async () => {
    vi.useFakeTimers();
    const { call, room } = await inCall();
    // Asleep: nothing arrives. On waking the watchdog finds the socket silent and abandons it…
    await vi.advanceTimersByTimeAsync(13_000);
    expect(call.roomStatus).toBe('reconnecting');
    expect(room.readyState).toBe(FakeSocket.CLOSED);
    // …and the browser fires 'online' as the network interface comes back.
    fireWindow('online');
    await vi.advanceTimersByTimeAsync(1_000);
    const reconnects = FakeSocket.all.slice(1);
    roomWelcomes(reconnects);
    await vi.advanceTimersByTimeAsync(0);
    expect({ roomSocketsOpened: reconnects.length, phase: call.phase, ending: call.ending?.message ?? null }).toEqual({ roomSocketsOpened: 1, phase: 'in-call', ending: null });
  });
});

describe('a socket the page already gave up on', () => {
  it('its late messages and its close are ignored: the room replacing it does not end the call', async () => {
    vi.useFakeTimers();
    const { call, room } = await inCall();
    // Online while the socket still looks open: the page starts a new one at once.
    fireWindow('online');
    await vi.advanceTimersByTimeAsync(1_000);
    const current = FakeSocket.all.at(-1)!;
    expect(current).not.toBe(room);
    current.open();
    current.serverSays(welcome(view(), assignment('node-a', 5)));
    // The abandoned socket's close never completed; the room now replaces it.
    room.readyState = FakeSocket.OPEN;
    room.serverSays({ type: 'participant.left', participantId: 'someone-00001' });
    room.serverCloses('CONFLICT', 4005, 'replaced by a newer connection');
    await vi.advanceTimersByTimeAsync(1_000);
    expect({ phase: call.phase, ending: call.ending?.message ?? null, roomStatus: call.roomStatus, roomSockets: FakeSocket.all.length }).toEqual({
      phase: 'in-call',
      ending: null,
      roomStatus: 'open',
      roomSockets: 2,
    });
  });
});
