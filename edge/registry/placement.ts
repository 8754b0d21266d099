import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS, type NodeExclusion, type NodeLoad, type NodeState } from '../../schema/wire/node-control.js';
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
  /**
   * Of those, the ones assigned after the node's last report (the RegionDO knows when). Without
   * it, the rooms assigned beyond the reported count stand in — which also counts a room the
   * node already closed (everyone left) while its assignment waits out the release grace.
   */
  assignedSinceReport?: number;
  /**
   * Rooms placed on the node within the policy's reservation window, and the consumers reserved
   * for them (reservations.ts): a room reaches its size minutes after it is placed, so its report
   * alone would make the node look emptier than it is about to be.
   */
  reserved?: { rooms: number; consumers: number };
}

/**
 * Every threshold of node health in one place. Two levels: past an admission threshold a node
 * takes no new rooms (and the fleet says why); past an overload threshold it also sheds rooms.
 */
export interface PlacementPolicy {
  /** A heartbeat older than this means the node is not usable. */
  heartbeatTimeoutMs: number;
  /** Highest projected consumer utilisation (0..1) a node may be placed up to. */
  maxConsumerUtilisation: number;
  /** Highest mean worker CPU (0..1 of a core) a node may take new rooms at. */
  maxCpu: number;
  /** Highest receive-side packet loss (0..1) a node may take new rooms at. */
  maxPacketLoss: number;
  /** Highest receive-side jitter (ms) a node may take new rooms at. */
  maxJitterMs: number;
  /** Highest event-loop lag (ms) a node may take new rooms at. */
  maxEventLoopLagMs: number;
  /** Consumers reserved for a room the node has not reported yet (and for a young room). */
  consumersPerNewRoom: number;
  /** How long a new room keeps its reservation: about as long as a meeting takes to fill. */
  reservationMs: number;
  /**
   * How long a room placed with its people already in it (moved) keeps its reservation: until
   * its node has reported it — after that its report counts it and a reservation would count it twice.
   */
  arrivedReservationMs: number;
  /** Overload: consumer utilisation (reported, 0..1) past which the node sheds rooms. */
  shedConsumerUtilisation: number;
  /** Overload: mean worker CPU past which the node sheds rooms. */
  shedCpu: number;
  /** Overload: event-loop lag (ms) past which the node sheds rooms. */
  shedEventLoopLagMs: number;
  /** Share of an overloaded node's rooms moved in one round (at least one room). */
  shedFraction: number;
  /** At most this many rooms move off one node per round. */
  maxRoomsShedPerRound: number;
  /** Between two rounds on the same node, so its next reports show the effect of the last. */
  shedCooldownMs: number;
}

export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  heartbeatTimeoutMs: NODE_HEARTBEAT_TIMEOUT_MS,
  maxConsumerUtilisation: 0.85,
  maxCpu: 0.85,
  maxPacketLoss: 0.05,
  maxJitterMs: 50,
  maxEventLoopLagMs: 250,
  consumersPerNewRoom: consumersPerRoom(),
  reservationMs: 180_000,
  arrivedReservationMs: 2 * NODE_HEARTBEAT_INTERVAL_MS,
  shedConsumerUtilisation: 0.95,
  shedCpu: 0.95,
  shedEventLoopLagMs: 1_000,
  shedFraction: 0.1,
  maxRoomsShedPerRound: 4,
  shedCooldownMs: 10_000,
};

/**
 * Consumers the node is about to carry beyond its report: the reservations of its young rooms, and
 * a new room's reservation for any other room assigned since its last report. A young room the
 * node already reported counts its reservation on top of the few people in it so far: an
 * overestimate of at most those people's consumers, while the room fills.
 */
export function reservedConsumers(node: NodeCandidate, policy: PlacementPolicy): number {
  const reserved = node.reserved ?? { rooms: 0, consumers: 0 };
  const unreportedRooms = node.assignedSinceReport ?? Math.max(0, node.assignedRooms - node.load.rooms);
  return reserved.consumers + Math.max(0, unreportedRooms - reserved.rooms) * policy.consumersPerNewRoom;
}

/**
 * What to reserve for a room placed with `participants` people in it: a new room's consumers for
 * `reservationMs` while it fills; a room that arrives at least that full (moved) at its size, until
 * its node has reported it.
 */
export function reservationFor(participants: number, policy: PlacementPolicy): { consumers: number; forMs: number } {
  const arrived = consumersPerRoom(participants);
  return arrived >= policy.consumersPerNewRoom ? { consumers: arrived, forMs: policy.arrivedReservationMs } : { consumers: policy.consumersPerNewRoom, forMs: policy.reservationMs };
}

/**
 * Projected consumer utilisation if the node got one more room of `roomConsumers`: its reported
 * consumers plus its reservations (so a burst of joins between two heartbeats, and rooms still
 * filling, spread over nodes instead of piling onto the one that looked emptiest).
 */
export function projectedUtilisation(node: NodeCandidate, policy: PlacementPolicy, roomConsumers: number = policy.consumersPerNewRoom): number {
  const consumers = node.load.consumers + reservedConsumers(node, policy) + roomConsumers;
  return node.load.consumerCapacity === 0 ? Infinity : consumers / node.load.consumerCapacity;
}

export function meanCpu(load: NodeLoad): number {
  if (load.cpuPerWorker.length === 0) return 0;
  return load.cpuPerWorker.reduce((sum, cpu) => sum + cpu, 0) / load.cpuPerWorker.length;
}

/**
 * Every reason the node takes no new room now; empty when it may. Liveness first, then the
 * quality thresholds of the policy (all that hold are listed, so the fleet shows the whole story).
 */
export function exclusionReasons(node: NodeCandidate, now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): NodeExclusion[] {
  if (node.state === 'down') return ['down'];
  const reasons: NodeExclusion[] = [];
  if (node.state === 'draining') reasons.push('draining');
  if (now - node.lastHeartbeatAt > policy.heartbeatTimeoutMs) reasons.push('stale-heartbeat');
  const { load } = node;
  if (load.workersAlive === 0 || load.consumerCapacity === 0) return [...reasons, 'no-workers'];
  if (projectedUtilisation(node, policy) > policy.maxConsumerUtilisation) reasons.push('full');
  if (meanCpu(load) > policy.maxCpu) reasons.push('cpu');
  if (load.packetLoss > policy.maxPacketLoss) reasons.push('loss');
  if ((load.jitterMs ?? 0) > policy.maxJitterMs) reasons.push('jitter');
  if ((load.eventLoopLagMs ?? 0) > policy.maxEventLoopLagMs) reasons.push('event-loop-lag');
  return reasons;
}

/**
 * The node's placement score (lower is better), or null when it takes no new room now — exactly
 * when exclusionReasons would name a reason, but answered with early returns and no list: this
 * runs for every node of a region on every placement (the fleet view builds the reasons).
 */
export function placementScore(node: NodeCandidate, now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY, roomConsumers: number = policy.consumersPerNewRoom): number | null {
  if (node.state !== 'serving' || now - node.lastHeartbeatAt > policy.heartbeatTimeoutMs) return null;
  const { load } = node;
  if (load.workersAlive === 0 || load.consumerCapacity === 0) return null;
  if (load.packetLoss > policy.maxPacketLoss || (load.jitterMs ?? 0) > policy.maxJitterMs || (load.eventLoopLagMs ?? 0) > policy.maxEventLoopLagMs) return null;
  const utilisation = projectedUtilisation(node, policy, roomConsumers);
  if (utilisation > policy.maxConsumerUtilisation) return null;
  const cpu = meanCpu(load);
  if (cpu > policy.maxCpu) return null;
  // Consumers are the binding resource; CPU and dead workers break near-ties.
  const workerLoss = 1 - load.workersAlive / Math.max(1, load.workersTotal);
  return utilisation + 0.25 * cpu + 0.25 * workerLoss;
}

/** Whether the node may take a new room now (exclusionReasons is empty), without building reasons. */
export function isPlaceable(node: NodeCandidate, now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): boolean {
  return placementScore(node, now, policy) !== null;
}

/**
 * The node a new room (of `roomConsumers`, a new room's reservation unless it arrives with people)
 * goes to: the least-loaded node with no exclusion reason, or null when the region has none. Ties
 * go to the lower node id so the choice is deterministic.
 */
export function chooseNode<N extends NodeCandidate>(
  nodes: readonly N[],
  now: number,
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
  roomConsumers: number = policy.consumersPerNewRoom,
): N | null {
  let best: N | null = null;
  let bestScore = Infinity;
  for (const node of nodes) {
    const score = placementScore(node, now, policy, roomConsumers);
    if (score === null) continue;
    if (score < bestScore || (score === bestScore && best !== null && node.nodeId < best.nodeId)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}

/** Whether the meeting's current node still serves it: not written off and heard from within the timeout. */
export function stillServes(node: NodeCandidate | undefined, now: number, policy: PlacementPolicy): boolean {
  return node !== undefined && node.state !== 'down' && now - node.lastHeartbeatAt <= policy.heartbeatTimeoutMs;
}

/**
 * RegionDO.place as a pure decision: the meeting keeps its current node while that one serves it
 * (a draining node keeps a room until it is moved; only new rooms avoid it), else the least-loaded
 * node with headroom for the room at its size (`participants` already in it: a moved room arrives
 * full), with the consumers to reserve there. Null: no capacity in this region.
 */
export function placeMeeting<N extends NodeCandidate>(
  nodes: readonly N[],
  currentId: string | null,
  participants: number,
  now: number,
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
): { node: N; kept: true } | { node: N; kept: false; reserve: { consumers: number; forMs: number } } | null {
  const current = currentId === null ? undefined : nodes.find((node) => node.nodeId === currentId);
  if (current && stillServes(current, now, policy)) return { node: current, kept: true };
  const reserve = reservationFor(participants, policy);
  const chosen = chooseNode(nodes, now, policy, reserve.consumers);
  return chosen ? { node: chosen, kept: false, reserve } : null;
}

/** Live nodes not heard from since `now − heartbeatTimeoutMs` (the alarm writes them off). */
export function staleNodes<N extends NodeCandidate>(nodes: readonly N[], now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): N[] {
  return nodes.filter((node) => node.state !== 'down' && node.lastHeartbeatAt < now - policy.heartbeatTimeoutMs);
}

/** Live and past an overload threshold of the policy: it should hand some rooms to others. */
export function isOverloaded(node: NodeCandidate, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): boolean {
  if (node.state === 'down') return false;
  const { load } = node;
  const utilisation = load.consumerCapacity === 0 ? 0 : load.consumers / load.consumerCapacity;
  return utilisation > policy.shedConsumerUtilisation || meanCpu(load) > policy.shedCpu || (load.eventLoopLagMs ?? 0) > policy.shedEventLoopLagMs;
}

/**
 * The rooms an overloaded node hands over this round: a share of them (at least one, at most the
 * per-round cap), newest first — they have the least history on the node. None while the node is
 * not overloaded, still cooling down from its last round, or when no other node could take them.
 */
export function roomsToShed<N extends NodeCandidate>(
  node: N,
  roomsNewestFirst: readonly string[],
  others: readonly N[],
  context: { now: number; lastShedAt: number | null },
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
): string[] {
  if (roomsNewestFirst.length === 0 || !isOverloaded(node, policy)) return [];
  if (context.lastShedAt !== null && context.now - context.lastShedAt < policy.shedCooldownMs) return [];
  if (chooseNode(others.filter((other) => other.nodeId !== node.nodeId), context.now, policy) === null) return [];
  const count = Math.min(policy.maxRoomsShedPerRound, Math.max(1, Math.ceil(roomsNewestFirst.length * policy.shedFraction)));
  return roomsNewestFirst.slice(0, count);
}
