import type { NodeLoad } from '../../schema/wire/node-control.js';
import { regionsByDistance } from '../../edge/registry/region-choice.js';
import { regionById, type RegionId } from '../../schema/regions.js';
import type { NodeCandidate } from '../../edge/registry/placement.js';
import { newLedger, type ReservationLedger } from '../../edge/registry/reservations.js';
import { registryShards, shardOfNode } from '../../edge/registry/shards.js';
import { newCalendar, type Calendar } from './calendar.js';
import { MEDIA_REGION_IDS } from './day-profile.js';
import { newMeters, type Meters } from './meters.js';
import { newRooms, type Rooms } from './rooms.js';
import { Rng } from './rng.js';

/** A media node as the RegionDO sees it (NodeCandidate) plus what it really carries. */
export interface SimNode extends NodeCandidate {
  index: number;
  region: number;
  alive: boolean;
  diedAt: number;
  /** Consumers the node accepts (its consumerCapacity: the binding resource in consumers). */
  budget: number;
  /** Consumers at 100% CPU. */
  cpuConsumers: number;
  consumers: number;
  participants: number;
  mediaRooms: number;
  peakUtilisation: number;
  /** When it last shed rooms for overload (−1: never). */
  lastShedAt: number;
  /** Rooms the RegionDO has assigned to it (node_rooms). */
  assigned: Set<number>;
  /** The registry shard it reports to (edge/registry/shards.ts shardOfNode). */
  shard: number;
}

export interface SimRegion {
  id: RegionId;
  index: number;
  nodes: SimNode[];
  baseline: number;
  reserve: number;
  /** When the RegionDO's liveness alarm fires next (−1: not armed), and a deferred verdict (liveness.ts). */
  alarmAt: number;
  deferredUntil: number | null;
  /** The registry's shards, each its nodes; and how many the region has at full size. */
  shards: SimNode[][];
  fullShards: number;
  /** Reservations for rooms placed recently (edge/registry/reservations.ts), by room slot and node index. */
  ledger: ReservationLedger<number, number>;
  /** Per shard: until when its paced room moves are already scheduled. */
  movesQueuedUntil: number[];
  /** The whole data centre is gone (its nodes stopped). */
  lost: boolean;
}

/** Where clients of a region are: a few points near it, each with its region order (region-choice.ts). */
export interface ClientPoints {
  /** points[home][k] = media region indices, nearest first. */
  orders: number[][][];
}

export interface World {
  now: number;
  seed: number;
  /** Share of the plan's size simulated (1 = full size). */
  scale: number;
  calendar: Calendar;
  regions: SimRegion[];
  rooms: Rooms;
  clients: ClientPoints;
  meters: Meters;
  /** Next minute whose meetings are still to be drawn. */
  nextMinute: number;
}

export const POINTS_PER_REGION = 8;

export function clientPoints(seed: number): ClientPoints {
  const orders = MEDIA_REGION_IDS.map((id, home) => {
    const rng = new Rng(seed, 77, home);
    const centre = regionById(id);
    return Array.from({ length: POINTS_PER_REGION }, () => {
      const location = { latitude: centre.lat + (rng.next() - 0.5), longitude: centre.lon + (rng.next() - 0.5) };
      return regionsByDistance(location, 'lon').map((region) => MEDIA_REGION_IDS.indexOf(region));
    });
  });
  return { orders };
}

export interface FleetPlan {
  region: RegionId;
  baseline: number;
  reserve: number;
}

export function emptyLoad(budget: number, workers: number): NodeLoad {
  return {
    workersAlive: workers,
    workersTotal: workers,
    rooms: 0,
    participants: 0,
    transports: 0,
    producers: 0,
    consumers: 0,
    consumerCapacity: budget,
    // One entry: the mean over workers (all placement reads of it), so a heartbeat stays cheap.
    cpuPerWorker: [0],
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    packetLoss: 0,
    recordings: 0,
  };
}

export function buildRegions(fleet: readonly FleetPlan[], budget: number, cpuConsumers: number, cores: number, now: number, scale: number): SimRegion[] {
  return MEDIA_REGION_IDS.map((id, index) => {
    const plan = fleet.find((entry) => entry.region === id) ?? { baseline: 0, reserve: 0 };
    const count = plan.baseline + plan.reserve;
    // As many shards as the simulated nodes need, so a shard holds about as many nodes as at full size.
    const shardCount = registryShards(count);
    const nodes: SimNode[] = Array.from({ length: count }, (_, i) => ({
      nodeId: `${id}-${String(i).padStart(5, '0')}`,
      state: 'serving',
      lastHeartbeatAt: now,
      load: emptyLoad(budget, cores),
      assignedRooms: 0,
      index: i,
      region: index,
      alive: true,
      diedAt: -1,
      budget,
      cpuConsumers,
      consumers: 0,
      participants: 0,
      mediaRooms: 0,
      peakUtilisation: 0,
      lastShedAt: -1,
      assigned: new Set<number>(),
      shard: shardOfNode(`${id}-${String(i).padStart(5, '0')}`, shardCount),
    }));
    const shards = Array.from({ length: shardCount }, (_, shard) => nodes.filter((node) => node.shard === shard));
    const fullShards = registryShards(Math.round(count / scale));
    return { id, index, nodes, baseline: plan.baseline, reserve: plan.reserve, alarmAt: -1, deferredUntil: null, lost: false, shards, fullShards, ledger: newLedger<number, number>(), movesQueuedUntil: shards.map(() => -Infinity) };
  });
}

export function newWorld(seed: number, scale: number, regions: SimRegion[], startMs: number, endMs: number): World {
  return {
    now: startMs,
    seed,
    scale,
    calendar: newCalendar(startMs),
    regions,
    rooms: newRooms(1 << 16),
    clients: clientPoints(seed),
    meters: newMeters(regions.length, startMs, endMs, Math.max(1, ...regions.map((region) => region.shards.length))),
    nextMinute: Math.floor(startMs / 60_000),
  };
}
