import type { z } from 'zod';
import type { fleetNodeSchema } from '../../schema/wire/http.js';
import type { StoredNode } from './node-store.js';
import { exclusionReasons, reservedConsumers, type PlacementPolicy } from './placement.js';

export type FleetNode = z.infer<typeof fleetNodeSchema>;

/** A node as the fleet API shows it, with why placement skips it right now. */
export function toFleetNode(node: StoredNode, now: number, policy: PlacementPolicy): FleetNode {
  return {
    nodeId: node.nodeId,
    region: node.identity.region,
    state: node.state,
    signalingUrl: node.identity.signalingUrl,
    lastHeartbeatAt: node.lastHeartbeatAt,
    load: node.load,
    rooms: node.assignedRooms,
    reservedConsumers: reservedConsumers(node, policy),
    excludedBecause: exclusionReasons(node, now, policy),
  };
}
