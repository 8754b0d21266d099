import { distanceKm, regionById } from '../../schema/regions.js';
import { admissionRefusal } from './admission.js';
import { MEDIA_REGION_IDS } from './day-profile.js';
import { countJoin, countRegionDo, type Refusal } from './meters.js';
import { placeIn, release, shardsFor } from './registry.js';
import { consumersOf } from './room-load.js';
import { SOURCE, type Sim } from './sim-state.js';
import type { SimNode } from './world.js';

/*
 * What happens to one room: its load on a node, its placement over the region order (the RoomDO's
 * ensureAssignment → RegionDO.place), a join, and a move when its node dies or sheds it.
 */

const distances = MEDIA_REGION_IDS.map((a) => MEDIA_REGION_IDS.map((b) => distanceKm(regionById(a), regionById(b))));

// ── load on nodes ────────────────────────────────────────────────────────────────────────────

export function nodeOf(sim: Sim, slot: number): SimNode | null {
  const rooms = sim.world.rooms;
  return rooms.node[slot]! < 0 ? null : sim.world.regions[rooms.nodeRegion[slot]!]!.nodes[rooms.node[slot]!]!;
}

export function addParticipants(node: SimNode, before: number, after: number): void {
  node.consumers += consumersOf(after) - consumersOf(before);
  node.participants += after - before;
  if (before === 0 && after > 0) node.mediaRooms += 1;
  if (before > 0 && after === 0) node.mediaRooms -= 1;
  const utilisation = node.consumers / node.budget;
  if (utilisation > node.peakUtilisation) node.peakUtilisation = utilisation;
}

// ── placement (edge/room/media.ts ensureAssignment → place over the region order) ────────────

/** Over the region order, in each region the shards the meeting asks (shards.ts shardsToAsk): the node it got. */
function placeSomewhere(sim: Sim, slot: number, now: number): { regionIndex: number; node: SimNode } | null {
  const { rooms, regions, clients, meters } = sim.world;
  for (const regionIndex of clients.orders[rooms.home[slot]!]![rooms.point[slot]!]!) {
    const region = regions[regionIndex]!;
    for (const shard of shardsFor(region, slot)) {
      if (sim.counting) countRegionDo(meters, regionIndex, shard, SOURCE.place, now);
      const node = placeIn(region, shard, slot, rooms.joined[slot]!, now);
      if (node) return { regionIndex, node };
    }
  }
  return null;
}

export function placeRoom(sim: Sim, slot: number, now: number): boolean {
  const { rooms, meters } = sim.world;
  const home = rooms.home[slot]!;
  const found = placeSomewhere(sim, slot, now);
  if (!found) return false;
  const { regionIndex, node } = found;
  rooms.nodeRegion[slot] = regionIndex;
  rooms.node[slot] = node.index;
  addParticipants(node, 0, rooms.joined[slot]!);
  if (sim.counting) {
    const counters = meters.counters[home]!;
    counters.roomsPlaced += 1;
    if (regionIndex !== home) counters.roomsElsewhere += 1;
    if (distances[home]![regionIndex]! > sim.params.farKm) counters.roomsFar += 1;
  }
  return true;
}

/**
 * One person asks to join (RoomDO.join): admission, the room's placement on its first join, a
 * seat. Answers the refusal, or null when seated.
 */
export function join(sim: Sim, slot: number, now: number): Refusal | null {
  const { rooms } = sim.world;
  const isHost = rooms.attempts[slot] === 0;
  rooms.attempts[slot]! += 1;
  const refusal = admissionRefusal({ ended: rooms.over[slot] === 1, joined: rooms.joined[slot]!, maxParticipants: rooms.maxParticipants[slot]!, isHost });
  if (refusal) return refusal;
  if (rooms.node[slot]! < 0 && !placeRoom(sim, slot, now)) return 'NO_MEDIA_CAPACITY';
  const before = rooms.joined[slot]!;
  rooms.joined[slot] = before + 1;
  addParticipants(nodeOf(sim, slot)!, before, before + 1);
  return null;
}

/** A join of an ordinary meeting, counted for its clients' region. */
export function regionJoin(sim: Sim, slot: number, now: number): void {
  const refusal = join(sim, slot, now);
  if (!sim.counting) return;
  const { meters, rooms } = sim.world;
  const home = rooms.home[slot]!;
  countJoin(meters, home, now);
  const counters = meters.counters[home]!;
  if (refusal) counters.refused[refusal] += 1;
  else counters.joinsPlaced += 1;
}


// ── moves (RoomDO onNodeLost → ensureAssignment) ─────────────────────────────────────────────

/** The room's node was written off (rooms.lostAt: when it died): everyone goes to a new node. */
export function moveRoom(sim: Sim, slot: number, now: number): void {
  const { rooms, meters } = sim.world;
  // Ended meanwhile, placed by a join meanwhile, or a new meeting in a reused slot: nothing to move.
  if (rooms.joined[slot] === 0 || rooms.node[slot]! >= 0 || Number.isNaN(rooms.lostAt[slot]!)) return;
  const counters = meters.counters[rooms.home[slot]!]!;
  if (!placeRoom(sim, slot, now)) {
    if (sim.counting) counters.roomsStranded += 1;
    return;
  }
  const waited = now - rooms.lostAt[slot]!;
  rooms.lostAt[slot] = NaN;
  if (sim.counting) {
    counters.roomsMoved += 1;
    counters.moveWaitSumMs += waited;
    counters.moveWaitMaxMs = Math.max(counters.moveWaitMaxMs, waited);
  }
}

/** An overloaded node hands a room over: its RoomDO places it anew and everyone moves (make-before-break). */
export function shedRoom(sim: Sim, node: SimNode, slot: number, now: number): void {
  const { rooms, meters } = sim.world;
  release(sim.world.regions[node.region]!, node, slot);
  addParticipants(node, rooms.joined[slot]!, 0);
  rooms.node[slot] = -1;
  rooms.nodeRegion[slot] = -1;
  if (rooms.joined[slot] === 0) return;
  // The flash crowd's room is one full-size room: counted on its own, not scaled with the region.
  if (slot === sim.params.outcome.flashSlot) meters.flash.sheds += 1;
  else if (sim.counting) meters.counters[rooms.home[slot]!]!.roomsShed += 1;
  if (!placeRoom(sim, slot, now) && sim.counting) meters.counters[rooms.home[slot]!]!.roomsStranded += 1;
}

