import type { NodeLoad, NodeState } from '../../schema/wire/node-control.js';
import { consumersPerRoom } from '../../schema/regions.js';

/** What placement knows about one media node: its last report plus what the edge gave it since. */
export interface NodeCandidate {
  nodeId: string;
  /** Effective state: the node's own report, overridden to draining/down by the edge. */
  state: NodeState | 'down';
  lastHeartbeatAt: number;
  load: NodeLoad;
  /** Rooms the RegionDO has assigned to this node (its own count, ahead of the next heartbeat). */
  assignedRooms: number;
}

export interface PlacementPolicy {
  /** A heartbeat older than this means the node is not usable. */
  heartbeatTimeoutMs: number;
  /** Highest projected consumer utilisation (0..1) a node may be placed up to. */
  maxConsumerUtilisation: number;
  /** Highest mean worker CPU (0..1 of a core) a node may take new rooms at. */
  maxCpu: number;
  /** Consumers reserved for a room the node has not reported yet. */
  consumersPerNewRoom: number;
}

export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  heartbeatTimeoutMs: 6_000,
  maxConsumerUtilisation: 0.85,
  maxCpu: 0.85,
  consumersPerNewRoom: consumersPerRoom(),
};

/**
 * Projected consumer utilisation if the node got one more room: its reported consumers, plus a
 * reservation for rooms assigned since its last report (so a burst of joins between two
 * heartbeats spreads over nodes instead of piling onto the one that looked emptiest).
 */
export function projectedUtilisation(node: NodeCandidate, policy: PlacementPolicy): number {
  const unreportedRooms = Math.max(0, node.assignedRooms - node.load.rooms);
  const consumers = node.load.consumers + (unreportedRooms + 1) * policy.consumersPerNewRoom;
  return node.load.consumerCapacity === 0 ? Infinity : consumers / node.load.consumerCapacity;
}

function meanCpu(load: NodeLoad): number {
  if (load.cpuPerWorker.length === 0) return 0;
  return load.cpuPerWorker.reduce((sum, cpu) => sum + cpu, 0) / load.cpuPerWorker.length;
}

/** Serving, heard from recently, with live workers: the node could take a room at all. */
export function isAvailable(node: NodeCandidate, now: number, policy: PlacementPolicy): boolean {
  return (
    node.state === 'serving' &&
    now - node.lastHeartbeatAt <= policy.heartbeatTimeoutMs &&
    node.load.workersAlive > 0 &&
    node.load.consumerCapacity > 0
  );
}

export function hasHeadroom(node: NodeCandidate, policy: PlacementPolicy): boolean {
  return projectedUtilisation(node, policy) <= policy.maxConsumerUtilisation && meanCpu(node.load) <= policy.maxCpu;
}

/**
 * The node a new room goes to: the least-loaded available node with headroom, or null when the
 * region has none. Ties go to the lower node id so the choice is deterministic.
 */
export function chooseNode<N extends NodeCandidate>(nodes: readonly N[], now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): N | null {
  let best: N | null = null;
  let bestScore = Infinity;
  for (const node of nodes) {
    if (!isAvailable(node, now, policy) || !hasHeadroom(node, policy)) continue;
    // Consumers are the binding resource; CPU and dead workers break near-ties.
    const workerLoss = 1 - node.load.workersAlive / Math.max(1, node.load.workersTotal);
    const score = projectedUtilisation(node, policy) + 0.25 * meanCpu(node.load) + 0.25 * workerLoss;
    if (score < bestScore || (score === bestScore && best !== null && node.nodeId < best.nodeId)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}
