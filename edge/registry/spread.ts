import { distanceKm, regionById, type RegionId } from '../../schema/regions.js';
import { chooseNode, DEFAULT_PLACEMENT_POLICY, exclusionReasons, reservedConsumers, type NodeCandidate, type PlacementPolicy } from './placement.js';
import { locate, regionsByDistance, type ClientLocation } from './region-choice.js';

/*
 * When one meeting spreads over several media nodes (cascading, docs/cascading.md). Two pure
 * decisions, made by the RoomDO at each join: which node of a region a newcomer goes to (the
 * meeting's node while it has headroom, else a second node of the region), and whether a
 * participant far from the meeting's first region gets a node in their own region.
 */

/** Tracks a participant publishes in the load model (camera + mic), as in placement's consumersPerRoom. */
export const TRACKS_PER_PARTICIPANT = 2;

/** A meeting's footprint in one region, as the RoomDO knows it. */
export interface MeetingInRegion {
  /** The region's nodes serving the meeting, the meeting's first node first, with their local participants. */
  nodes: readonly { nodeId: string; participants: number }[];
  /** Participants of the whole meeting (every node, every region): a newcomer receives all their tracks. */
  participants: number;
}

/**
 * Consumers a newcomer adds to the node serving it: it receives every track of the meeting there
 * (remote ones arrive over a pipe, once per node), and the node's own participants receive its
 * tracks. Participants on other nodes consume it on their own nodes.
 */
export function newcomerConsumers(meetingParticipants: number, participantsOnNode: number, tracks = TRACKS_PER_PARTICIPANT): number {
  return tracks * (meetingParticipants + participantsOnNode);
}

/**
 * Whether the node can take `extraConsumers` more: no exclusion of placement's policy other than
 * 'full' (live, serving, fresh heartbeat, quality thresholds), and its consumer utilisation — the
 * same projection placement uses, reported consumers plus its reservations (young rooms, rooms it
 * has not reported yet) — stays within the policy's admission limit with them.
 */
export function hasHeadroom(node: NodeCandidate, extraConsumers: number, now: number, policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY): boolean {
  if (exclusionReasons(node, now, policy).some((reason) => reason !== 'full')) return false;
  const consumers = node.load.consumers + reservedConsumers(node, policy) + extraConsumers;
  return consumers / node.load.consumerCapacity <= policy.maxConsumerUtilisation;
}

/**
 * The node of one region a newcomer to the meeting goes to. The meeting's own nodes first, in
 * order (a compact meeting needs fewer pipes), the first with headroom for the newcomer; when
 * none has it the meeting spills onto the region's best other node that has (`spill`). Null: no
 * node of the region can take the newcomer (the caller tries the next region).
 */
export function nodeForNewcomer<N extends NodeCandidate>(
  meeting: MeetingInRegion,
  regionNodes: readonly N[],
  now: number,
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
): { node: N; spill: boolean } | null {
  const byId = new Map(regionNodes.map((node) => [node.nodeId, node]));
  for (const { nodeId, participants } of meeting.nodes) {
    const node = byId.get(nodeId);
    if (node && hasHeadroom(node, newcomerConsumers(meeting.participants, participants), now, policy)) return { node, spill: false };
  }
  const serving = new Set(meeting.nodes.map((entry) => entry.nodeId));
  const others = regionNodes.filter((node) => !serving.has(node.nodeId) && hasHeadroom(node, newcomerConsumers(meeting.participants, 0), now, policy));
  const chosen = chooseNode(others, now, policy);
  return chosen ? { node: chosen, spill: meeting.nodes.length > 0 } : null;
}

export interface RegionSpreadPolicy {
  /**
   * How much nearer (great-circle km) the participant's own region must be than the meeting's
   * first region before they get their own region's node: below it, the relay hop between nodes
   * costs about what the shorter path saves (London ↔ Frankfurt is ~640 km).
   */
  minGainKm: number;
}

export const DEFAULT_REGION_SPREAD_POLICY: RegionSpreadPolicy = { minGainKm: 1_500 };

/**
 * The regions worth a part of the meeting for a participant at `location`: each at least
 * `minGainKm` nearer to them than the meeting's region, nearest first. Empty without a location
 * (or when the meeting's region is as good as any).
 */
export function partRegionsFor(location: ClientLocation, meetingRegion: RegionId, policy: RegionSpreadPolicy = DEFAULT_REGION_SPREAD_POLICY): RegionId[] {
  const point = locate(location);
  if (point === null) return [];
  const meetingKm = distanceKm(point, regionById(meetingRegion));
  return regionsByDistance(location, meetingRegion).filter((region) => region !== meetingRegion && meetingKm - distanceKm(point, regionById(region)) >= policy.minGainKm);
}

/**
 * The region a participant's media goes to, given where they are (request.cf) and where the
 * meeting started: their nearest usable region when it is far enough nearer than the meeting's
 * ('own-region': the meeting cascades to it); else the meeting's region; when that one cannot take
 * anyone now, the nearest usable region ('meeting-region-unusable'). Without any location, the
 * meeting's region. `usable`: whether a region can take a participant now (a live node with headroom).
 */
export function regionForParticipant(
  location: ClientLocation,
  meetingRegion: RegionId,
  usable: (region: RegionId) => boolean = () => true,
  policy: RegionSpreadPolicy = DEFAULT_REGION_SPREAD_POLICY,
): { region: RegionId; reason: 'meeting-region' | 'own-region' | 'meeting-region-unusable' } {
  const nearest = regionsByDistance(location, meetingRegion).find(usable);
  if (nearest === undefined) return { region: meetingRegion, reason: 'meeting-region' };
  // The nearest usable region is the one that gains most: a part there when it gains enough.
  if (partRegionsFor(location, meetingRegion, policy).find(usable) === nearest) return { region: nearest, reason: 'own-region' };
  if (usable(meetingRegion)) return { region: meetingRegion, reason: 'meeting-region' };
  return { region: nearest, reason: 'meeting-region-unusable' };
}
