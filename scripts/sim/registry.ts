import { NODE_HEARTBEAT_INTERVAL_MS } from '../../schema/wire/node-control.js';
import { chooseNode, DEFAULT_PLACEMENT_POLICY, isOverloaded, roomsToShed, type PlacementPolicy } from '../../edge/registry/placement.js';
import { SLOT_MS } from './calendar.js';
import type { SimNode, SimRegion } from './world.js';

/**
 * The RegionDO's registry logic over in-memory nodes (edge/registry/region-do.ts + node-store.ts):
 * heartbeats refresh a node, placement is the real chooseNode over every node of the region, the
 * alarm marks nodes whose heartbeats stopped as down and hands back their rooms, and after a
 * report an overloaded node sheds rooms (the real isOverloaded/roomsToShed). The RegionDO keeps
 * the rest inside its class; pure `placeMeeting`/`staleNodes` there would shrink this file to calls.
 */
export const POLICY: PlacementPolicy = DEFAULT_PLACEMENT_POLICY;

/** Heartbeats are spread over the interval: node i reports in slot phase i % HEARTBEAT_PHASES. */
export const HEARTBEAT_PHASES = NODE_HEARTBEAT_INTERVAL_MS / SLOT_MS;

/** RegionDO.place for a meeting without a live assignment: chooseNode, then record the assignment. */
export function placeIn(region: SimRegion, slot: number, now: number, policy: PlacementPolicy = POLICY): SimNode | null {
  const chosen = chooseNode(region.nodes, now, policy);
  if (!chosen) return null;
  chosen.assigned.add(slot);
  chosen.assignedRooms = chosen.assigned.size;
  return chosen;
}

/** RegionDO.release. */
export function release(node: SimNode, slot: number): void {
  node.assigned.delete(slot);
  node.assignedRooms = node.assigned.size;
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

/** The alarm: nodes not heard from within the timeout go down (their rooms returned); when it fires next. */
export function runAlarm(region: SimRegion, now: number, policy: PlacementPolicy = POLICY): { lost: { node: SimNode; rooms: number[] }[]; next: number } {
  const lost: { node: SimNode; rooms: number[] }[] = [];
  let oldest = Infinity;
  for (const node of region.nodes) {
    if (node.state === 'down') continue;
    if (node.lastHeartbeatAt < now - policy.heartbeatTimeoutMs) {
      node.state = 'down';
      const rooms = [...node.assigned];
      node.assigned.clear();
      node.assignedRooms = 0;
      lost.push({ node, rooms });
    } else {
      oldest = Math.min(oldest, node.lastHeartbeatAt);
    }
  }
  return { lost, next: oldest === Infinity ? -1 : Math.max(now + 100, oldest + policy.heartbeatTimeoutMs + 1) };
}

/** RegionDO.afterReport for a serving node: the rooms an overloaded node hands over now (none usually). */
export function roomsToShedNow(region: SimRegion, node: SimNode, now: number, policy: PlacementPolicy = POLICY): number[] {
  if (node.assigned.size === 0 || !isOverloaded(node, policy)) return [];
  const newestFirst = [...node.assigned].reverse().map(String);
  const shed = roomsToShed(node, newestFirst, region.nodes, { now, lastShedAt: node.lastShedAt < 0 ? null : node.lastShedAt }, policy);
  if (shed.length > 0) node.lastShedAt = now;
  return shed.map(Number);
}
