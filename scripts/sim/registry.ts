import { NODE_HEARTBEAT_INTERVAL_MS } from '../../schema/wire/node-control.js';
import { DEFAULT_PLACEMENT_POLICY, isOverloaded, placeMeeting, roomsToShed, staleNodes, type PlacementPolicy } from '../../edge/registry/placement.js';
import { dropReservation, expireReservations, reserve, type ReservedTotals } from '../../edge/registry/reservations.js';
import { shardsToAsk } from '../../edge/registry/shards.js';
import { judgeSilence } from '../../edge/registry/liveness.js';
import { SLOT_MS } from './calendar.js';
import type { SimNode, SimRegion } from './world.js';

/**
 * The RegionDO's registry over in-memory nodes, with the real rules: placement is placement.ts
 * placeMeeting over the nodes of one registry shard (shards.ts), with reservations.ts keeping a
 * room reserved while it fills; the alarm writes off placement.ts staleNodes; an overloaded node
 * sheds by isOverloaded/roomsToShed. What stays here is the bookkeeping the RegionDO does in SQL.
 */
export const POLICY: PlacementPolicy = DEFAULT_PLACEMENT_POLICY;

/** Heartbeats are spread over the interval: node i reports in slot phase i % HEARTBEAT_PHASES. */
export const HEARTBEAT_PHASES = NODE_HEARTBEAT_INTERVAL_MS / SLOT_MS;

/** Writes a node's reservation totals onto it, where placement reads them (RoomReservations.attach). */
const onReserved = (region: SimRegion) => (nodeIndex: number, totals: ReservedTotals) => {
  region.nodes[nodeIndex]!.reserved = totals;
};

/** The shards a meeting asks in this region, in order (its id: the room slot, hashed). */
export function shardsFor(region: SimRegion, slot: number): number[] {
  return shardsToAsk(`m${slot}`, region.shards.length);
}

/**
 * RegionDO.place on one shard for a meeting without a live assignment (`participants` already in
 * it: a moved room is reserved at its size): placeMeeting, then the assignment and its reservation.
 */
export function placeIn(region: SimRegion, shard: number, slot: number, participants: number, now: number, policy: PlacementPolicy = POLICY): SimNode | null {
  expireReservations(region.ledger, now, onReserved(region));
  const decision = placeMeeting(region.shards[shard]!, null, participants, now, policy);
  if (!decision) return null;
  const chosen = decision.node;
  chosen.assigned.add(slot);
  chosen.assignedRooms = chosen.assigned.size;
  if (!decision.kept) reserve(region.ledger, { meeting: slot, nodeId: chosen.index, consumers: decision.reserve.consumers, expiresAt: now + decision.reserve.forMs }, onReserved(region));
  return chosen;
}

/** RegionDO.release (and a room handed over): the node no longer counts it, nor its reservation. */
export function release(region: SimRegion, node: SimNode, slot: number): void {
  node.assigned.delete(slot);
  node.assignedRooms = node.assigned.size;
  dropReservation(region.ledger, slot, node.index, onReserved(region));
}

/** One heartbeat: the node's own counts and CPU (recordHeartbeat also clears `down`). Answers whether it was sent. */
export function heartbeat(node: SimNode, now: number, kbpsPerConsumer: number): boolean {
  if (!node.alive) return false;
  node.lastHeartbeatAt = now;
  if (node.state === 'down') node.state = 'serving';
  const load = node.load;
  load.rooms = node.mediaRooms;
  load.participants = node.participants;
  load.consumers = node.consumers;
  load.producers = 2 * node.participants;
  load.transports = 2 * node.participants;
  load.cpuPerWorker[0] = node.consumers / node.cpuConsumers;
  load.bitrateOutKbps = node.consumers * kbpsPerConsumer;
  return true;
}

/**
 * The alarm: nodes not heard from within the timeout are written off (their rooms returned) as
 * liveness.ts judgeSilence decides — when no node of the region was heard from lately they get
 * one more interval first. Answers when it fires next.
 */
export function runAlarm(region: SimRegion, now: number, policy: PlacementPolicy = POLICY): { lost: { node: SimNode; rooms: number[] }[]; next: number } {
  const silent = staleNodes(region.nodes, now, policy);
  let live = 0;
  let latestHeard: number | null = null;
  for (const node of region.nodes) {
    if (node.state === 'down') continue;
    live++;
    if (latestHeard === null || node.lastHeartbeatAt > latestHeard) latestHeard = node.lastHeartbeatAt;
  }
  // The simulated alarm fires on time (it is never late).
  const verdict = judgeSilence({ now, scheduledAt: now, deferredUntil: region.deferredUntil, silent: silent.map((node) => node.nodeId), live, latestHeard });
  if (verdict.kind === 'defer') {
    region.deferredUntil = verdict.until;
    return { lost: [], next: verdict.until };
  }
  region.deferredUntil = null;
  const lost = silent.map((node) => {
    node.state = 'down';
    const rooms = [...node.assigned];
    for (const slot of rooms) release(region, node, slot);
    return { node, rooms };
  });
  let oldest = Infinity;
  for (const node of region.nodes) if (node.state !== 'down') oldest = Math.min(oldest, node.lastHeartbeatAt);
  return { lost, next: oldest === Infinity ? -1 : Math.max(now + 100, oldest + policy.heartbeatTimeoutMs + 1) };
}

/** RegionDO.afterReport for a serving node: the rooms an overloaded node hands over now (none usually). */
export function roomsToShedNow(region: SimRegion, node: SimNode, now: number, policy: PlacementPolicy = POLICY): number[] {
  if (node.assigned.size === 0 || !isOverloaded(node, policy)) return [];
  const newestFirst = [...node.assigned].reverse().map(String);
  const shed = roomsToShed(node, newestFirst, region.shards[node.shard]!, { now, lastShedAt: node.lastShedAt < 0 ? null : node.lastShedAt }, policy);
  if (shed.length > 0) node.lastShedAt = now;
  return shed.map(Number);
}
