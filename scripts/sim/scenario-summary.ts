import { distanceKm, regionById, type RegionId } from '../../schema/regions.js';
import { DO_REQUESTS_PER_SECOND } from './admission.js';
import { MEDIA_REGION_IDS } from './day-profile.js';
import { PLANNED_UTILISATION } from './capacity-model.js';
import { REFUSALS, type Refusal } from './meters.js';
import type { ScenarioName, ScenarioRun } from './peak-run.js';
import { consumersOf } from './room-load.js';
import { doPeaks, doUtilisation, summariseRegions, type RegionSummary } from './summary.js';

export interface ScenarioSummary {
  name: ScenarioName;
  scale: number;
  window: { fromUtc: string; faultUtc: string; toUtc: string };
  regions: RegionSummary[];
  doUtilisation: { regionDo: number; roomDo: number };
  nodeLoss?: { region: RegionId; node: string; roomsOnNode: number; moved: number; waitMeanS: number; waitMaxS: number; stranded: number; refused: number; reserveSufficed: boolean };
  regionLoss?: { region: RegionId; roomsRehomed: number; roomsFar: number; refusedNoCapacity: number; shortfallPct: number; openRoomsByRegion: Partial<Record<RegionId, number>>; missingNodesNearby: number };
  flashCrowd?: {
    joinsPerSecond: number;
    attempts: number;
    admitted: number;
    refused: Partial<Record<Refusal, number>>;
    /** Refused at the edge from a cached "full" (full-cache.ts), never offered to the RoomDO. */
    cachedFull: number;
    edgeFullCache: boolean;
    /** Offered to the RoomDO: its busiest second, and its busiest 10 s (per second). */
    roomDoPeakPerSecond: number;
    roomDoPeak10sPerSecond: number;
    nodeUtilisation: number;
    timesShed: number;
  };
}

const utc = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString().slice(11, 16);

/** What a finished scenario shows, at full size. The normal day counts from the start, the others from the fault. */
export function summariseScenario(run: ScenarioRun, budgetConsumers: number): ScenarioSummary {
  const { world, params } = run.sim;
  const fromFault = run.name !== 'normal';
  const regions = summariseRegions(world, fromFault ? run.atFault : null, fromFault ? run.faultAt : run.startAt, run.endAt);
  const summary: ScenarioSummary = {
    name: run.name,
    scale: world.scale,
    window: { fromUtc: utc(fromFault ? run.faultAt : run.startAt), faultUtc: utc(run.faultAt), toUtc: utc(run.endAt) },
    regions,
    doUtilisation: doUtilisation(regions, world.meters.roomDoPeak),
  };
  const killed = params.outcome.killed;
  if (run.name === 'nodeLoss' && killed) {
    const region = regions[killed.region]!;
    const refused = region.joins.refused.NO_MEDIA_CAPACITY;
    summary.nodeLoss = {
      region: region.region,
      node: world.regions[killed.region]!.nodes[killed.node]!.nodeId,
      roomsOnNode: killed.rooms,
      moved: Math.round(region.rooms.moved * world.scale),
      waitMeanS: region.rooms.waitMeanS,
      waitMaxS: region.rooms.waitMaxS,
      stranded: Math.round(region.rooms.stranded * world.scale),
      refused,
      reserveSufficed: region.rooms.stranded === 0 && refused === 0 && region.rooms.elsewhere === 0,
    };
  }
  const lost = world.regions.find((region) => region.lost);
  if (run.name === 'regionLoss' && lost) summary.regionLoss = regionLoss(run, regions, lost.index, budgetConsumers);
  if (run.name === 'flashCrowd') {
    summary.flashCrowd = flashCrowd(run, budgetConsumers);
    // Measured over its busiest 10 s, as the RegionDOs are (its busiest second is in the report).
    if (summary.flashCrowd) summary.doUtilisation.roomDo = Math.max(summary.doUtilisation.roomDo, summary.flashCrowd.roomDoPeak10sPerSecond / DO_REQUESTS_PER_SECOND);
  }
  return summary;
}

function regionLoss(run: ScenarioRun, regions: RegionSummary[], lostIndex: number, budgetConsumers: number): ScenarioSummary['regionLoss'] {
  const { world, params } = run.sim;
  const { rooms } = world;
  const counters = regions[lostIndex]!;
  const openRoomsByRegion: Partial<Record<RegionId, number>> = {};
  let farConsumers = 0;
  const home = regionById(MEDIA_REGION_IDS[lostIndex]!);
  for (let slot = 0; slot < rooms.next; slot++) {
    if (rooms.home[slot] !== lostIndex || rooms.over[slot] === 1 || rooms.nodeRegion[slot]! < 0) continue;
    const id = MEDIA_REGION_IDS[rooms.nodeRegion[slot]!]!;
    openRoomsByRegion[id] = (openRoomsByRegion[id] ?? 0) + 1;
    if (distanceKm(home, regionById(id)) > params.farKm) farConsumers += consumersOf(rooms.joined[slot]!);
  }
  for (const id of Object.keys(openRoomsByRegion) as RegionId[]) openRoomsByRegion[id] = Math.round(openRoomsByRegion[id]! / world.scale);
  const refusedNoCapacity = counters.joins.refused.NO_MEDIA_CAPACITY;
  const needing = counters.rooms.placed + counters.rooms.stranded + refusedNoCapacity;
  const short = counters.rooms.far + counters.rooms.stranded + refusedNoCapacity;
  return {
    region: counters.region,
    roomsRehomed: counters.rooms.placed,
    roomsFar: counters.rooms.far,
    refusedNoCapacity,
    shortfallPct: needing > 0 ? (100 * short) / needing : 0,
    openRoomsByRegion,
    missingNodesNearby: Math.ceil(farConsumers / (budgetConsumers * PLANNED_UTILISATION) / world.scale),
  };
}

function flashCrowd(run: ScenarioRun, budgetConsumers: number): ScenarioSummary['flashCrowd'] {
  const { world, params } = run.sim;
  const slot = params.outcome.flashSlot;
  const fault = params.faults.find((f) => f.kind === 'flashCrowd');
  if (slot < 0 || !fault || fault.kind !== 'flashCrowd') return undefined;
  const flash = world.meters.flash;
  const admitted = world.rooms.joined[slot]!;
  // Offered to the object: every join not refused at the edge (it refuses what it cannot take) and the admitted ones' sockets.
  const offered = doPeaks(world.meters.flashOffered, 0, 0, world.meters.seconds);
  const refused: Partial<Record<Refusal, number>> = {};
  for (const reason of REFUSALS) if (flash.refused[reason] > 0) refused[reason] = flash.refused[reason];
  return {
    joinsPerSecond: fault.joinsPerSecond,
    attempts: flash.attempts,
    admitted,
    refused,
    cachedFull: flash.cachedFull,
    edgeFullCache: fault.edgeFullCache,
    roomDoPeakPerSecond: offered.peak,
    roomDoPeak10sPerSecond: offered.peak10,
    nodeUtilisation: consumersOf(admitted) / budgetConsumers,
    timesShed: flash.sheds,
  };
}

