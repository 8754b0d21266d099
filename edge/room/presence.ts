import type { Room } from './room.js';

/** The deadline by which participants without a room socket are let go (departure.ts prunes). */
export const PRESENCE_TIMER = 'presence';
/** How long a joined or waiting participant may go without a room socket before counting as gone. */
export const CONNECT_GRACE_MS = 60_000;

/** Someone was seated (or queued) at `since` and should open a room socket soon. */
export async function expectSocket(room: Room, since: number): Promise<void> {
  await room.timers.setIfUnset(PRESENCE_TIMER, since + CONNECT_GRACE_MS);
}

/** A waiting participant's socket closed: they keep their place for the grace period. */
export async function expectReturn(room: Room, now: number): Promise<void> {
  await room.timers.set(PRESENCE_TIMER, now + CONNECT_GRACE_MS, true);
}
