import { encode, schedule } from './calendar.js';
import { MEDIA_REGION_IDS } from './day-profile.js';
import { drawMinute, type MeetingDraw } from './demand.js';
import { noteRoomDoRate } from './meters.js';
import { openRoom } from './rooms.js';
import { DEFAULT_MAX_PARTICIPANTS, KIND, type Sim } from './sim-state.js';

/* Meetings arriving: each minute's draws become rooms with their join and end events. */

/** Most requests a room's RoomDO gets in one second: a join and its socket each, or everyone leaving at once. */
function roomDoPeak(draw: MeetingDraw): number {
  let peak = draw.size;
  for (let i = 0, j = 0; j < draw.joins.length; j++) {
    while (draw.joins[j]! - draw.joins[i]! >= 1_000) i++;
    peak = Math.max(peak, 2 * (j - i + 1));
  }
  return peak;
}

/**
 * Opens the meetings that start in `minute`. With `appliedBefore`, meetings over by then are
 * skipped and the people who arrived before it are collected in `early` instead of scheduled.
 */
export function openMinute(sim: Sim, minute: number, appliedBefore = -Infinity, early: { first: number; slot: number; arrived: number }[] = []): void {
  const { world, params } = sim;
  const { calendar, rooms, meters } = world;
  MEDIA_REGION_IDS.forEach((region, home) => {
    const points = world.clients.orders[home]!.length;
    for (const draw of drawMinute(world.seed, region, minute, params.starts[home]!, params.model, world.scale, appliedBefore)) {
      const slot = openRoom(rooms, home, (((minute * 31 + draw.index) % points) + points) % points, DEFAULT_MAX_PARTICIPANTS, draw.endsAt);
      let arrived = 0;
      for (const at of draw.joins) {
        if (at < appliedBefore) arrived++;
        else schedule(calendar, at, encode(KIND.join, slot));
      }
      if (arrived > 0) early.push({ first: draw.joins[0]!, slot, arrived });
      schedule(calendar, draw.endsAt, encode(KIND.end, slot));
      if (sim.counting && arrived === 0) noteRoomDoRate(meters, home, roomDoPeak(draw));
    }
  });
}

