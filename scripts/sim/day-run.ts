import { MINUTES_PER_DAY } from './day-profile.js';
import { MINUTE_MS } from './demand.js';
import { runSim, startSim, type Sim } from './engine.js';
import { planFleet } from './fleet.js';
import { SAMPLE_FIELDS, sampleIndex } from './meters.js';
import type { Prepared } from './prepare.js';
import { summariseRegions, type RegionSummary } from './summary.js';
import { buildRegions, newWorld } from './world.js';

/** The whole day (UTC midnight to midnight) at a reduced scale: the load curves of every region. */
export interface DayResult {
  scale: number;
  regions: RegionSummary[];
  /** Per region and minute, at full size: rooms, mean and max node load, registry requests/s (all shards, and per shard). */
  series: { region: string; minute: number; rooms: number; utilMean: number; utilMax: number; regionDoPerSecond: number; shardPerSecond: number }[];
  /** World joins per second in the busiest minute, and the most rooms open at once (full size). */
  peakJoinsPerSecond: number;
  peakJoinsMinute: number;
  concurrentRoomsPeak: number;
  concurrentRoomsMinute: number;
  roomDoPeak: number;
}

export function runDay(prep: Prepared, seed: number, scale: number): DayResult {
  const fleet = planFleet(prep.curves, prep.model, prep.figures, scale);
  const endAt = MINUTES_PER_DAY * MINUTE_MS;
  const regions = buildRegions(fleet.plans, fleet.budget.consumers, fleet.budget.byResource.cpu, fleet.spec.cores, 0, scale);
  const sim: Sim = {
    world: newWorld(seed, scale, regions, 0, endAt),
    params: { model: prep.model, starts: prep.starts, kbpsPerConsumer: fleet.kbpsPerConsumer, farKm: Infinity, faults: [], outcome: { killed: null, flashSlot: -1 } },
    counting: true,
  };
  startSim(sim);
  runSim(sim, endAt);
  const { meters } = sim.world;
  const field = (name: (typeof SAMPLE_FIELDS)[number]) => SAMPLE_FIELDS.indexOf(name);
  const series: DayResult['series'] = [];
  const roomsByMinute = new Float64Array(MINUTES_PER_DAY);
  for (const region of sim.world.regions) {
    for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
      let requests = 0;
      for (let s = minute * 60; s < (minute + 1) * 60; s++) requests += meters.regionDo[region.index * meters.seconds + s]!;
      const rooms = meters.samples[sampleIndex(meters, region.index, minute, field('rooms'))]! / scale;
      roomsByMinute[minute]! += rooms;
      series.push({
        region: region.id,
        minute,
        rooms,
        utilMean: meters.samples[sampleIndex(meters, region.index, minute, field('utilMean'))]!,
        utilMax: meters.samples[sampleIndex(meters, region.index, minute, field('utilMax'))]!,
        regionDoPerSecond: requests / 60 / scale,
        shardPerSecond: requests / 60 / scale / region.fullShards,
      });
    }
  }
  let joinsMinute = 0;
  let bestJoins = 0;
  for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
    let joins = 0;
    for (let s = minute * 60; s < (minute + 1) * 60; s++) joins += meters.joins[s]!;
    if (joins > bestJoins) {
      bestJoins = joins;
      joinsMinute = minute;
    }
  }
  const roomsMinute = roomsByMinute.reduce((best, value, minute) => (value > roomsByMinute[best]! ? minute : best), 0);
  return {
    scale,
    regions: summariseRegions(sim.world, null, 0, endAt),
    series,
    peakJoinsPerSecond: bestJoins / 60 / scale,
    peakJoinsMinute: joinsMinute,
    concurrentRoomsPeak: roomsByMinute[roomsMinute]!,
    concurrentRoomsMinute: roomsMinute,
    roomDoPeak: meters.roomDoPeak,
  };
}
