import { DO_REQUESTS_PER_SECOND } from './admission.js';
import { cachedFull, FULL_CACHE, newFullCache, rememberFull } from './full-cache.js';
import { encode, schedule } from './calendar.js';
import { secondOf } from './meters.js';
import { join } from './room-ops.js';
import { openRoom } from './rooms.js';
import { KIND, type Fault, type Sim } from './sim-state.js';

/* The scenarios' faults: a node dies silently, a region goes dark, a crowd hits one link. */

export function applyFault(sim: Sim, fault: Fault, now: number): void {
  const region = sim.world.regions[fault.region]!;
  switch (fault.kind) {
    case 'killNode': {
      // The worst case: the node carrying the most.
      const victim = region.nodes.filter((node) => node.alive).reduce((a, b) => (b.consumers > a.consumers ? b : a));
      victim.alive = false;
      victim.diedAt = now;
      sim.params.outcome.killed = { region: fault.region, node: victim.index, rooms: victim.assigned.size };
      return;
    }
    case 'loseRegion':
      region.lost = true;
      for (const node of region.nodes) {
        node.alive = false;
        node.diedAt = now;
      }
      return;
    case 'flashCrowd': {
      const slot = openRoom(sim.world.rooms, fault.region, 0, fault.maxParticipants, Infinity);
      sim.params.outcome.flashSlot = slot;
      if (fault.edgeFullCache) sim.params.outcome.fullCache = newFullCache();
      const total = Math.round(fault.joinsPerSecond * fault.seconds);
      for (let k = 0; k < total; k++) schedule(sim.world.calendar, now + (k * 1_000) / fault.joinsPerSecond, encode(KIND.flashJoin, slot));
      return;
    }
  }
}

/**
 * A join on the flash crowd's link (one RoomDO, full size whatever the scale, counted on its
 * own): the object first has to take the request at all.
 */
export function flashJoin(sim: Sim, slot: number, now: number): void {
  const meters = sim.world.meters;
  const second = secondOf(meters, now);
  const location = meters.flash.attempts % FULL_CACHE.locations;
  meters.flash.attempts += 1;
  const cache = sim.params.outcome.fullCache;
  if (cache && cachedFull(cache, location, now)) {
    meters.flash.refused.MEETING_FULL += 1;
    meters.flash.cachedFull += 1;
    return;
  }
  meters.flashOffered[second]! += 1;
  if (meters.flashDo[second]! >= DO_REQUESTS_PER_SECOND) {
    meters.flash.refused.DO_OVERLOADED += 1;
    return;
  }
  meters.flashDo[second]! += 1;
  const refusal = join(sim, slot, now);
  if (refusal) {
    meters.flash.refused[refusal] += 1;
    if (refusal === 'MEETING_FULL' && cache) rememberFull(cache, location, now);
    return;
  }
  meters.flash.placed += 1;
  // The admitted open their room socket: a second request in the same second.
  meters.flashDo[second]! += 1;
  meters.flashOffered[second]! += 1;
}


/** Schedules a fault (node kill, region loss, flash crowd) at its time. */
export function injectFault(sim: Sim, fault: Fault): void {
  sim.params.faults.push(fault);
  schedule(sim.world.calendar, fault.at, encode(KIND.fault, sim.params.faults.length - 1));
}
