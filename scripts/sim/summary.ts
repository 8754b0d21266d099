import type { RegionId } from '../../schema/regions.js';
import { DO_REQUESTS_PER_SECOND } from './admission.js';
import { MEDIA_REGION_IDS } from './day-profile.js';
import { DO_SOURCES, REFUSALS, SAMPLE_FIELDS, sampleIndex, type DoSource, type Refusal, type RegionCounters } from './meters.js';
import type { World } from './world.js';

/** What one region went through in one scenario, at full size (counts and rates divided by the scale). */
export interface RegionSummary {
  region: RegionId;
  nodes: number;
  joins: { attempts: number; placed: number; refused: Record<Refusal, number> };
  rooms: { placed: number; moved: number; waitMeanS: number; waitMaxS: number; stranded: number; shed: number; elsewhere: number; far: number };
  /** Node load (consumers ÷ budget) at the minute the region's mean was highest, and the highest any node reached. */
  load: { mean: number; max: number; maxOverMean: number; highestEver: number };
  /**
   * The region's registry: all its shards together (peaks, busiest minute by source), and its
   * busiest shard — one RegionDO — over its busiest 10 s, of `shards` at full size.
   */
  regionDo: { peakPerSecond: number; peak10sPerSecond: number; busiestMinute: Record<DoSource, number>; shards: number; busiestShard10sPerSecond: number };
}

const field = (name: (typeof SAMPLE_FIELDS)[number]) => SAMPLE_FIELDS.indexOf(name);

function minus(after: RegionCounters, before: RegionCounters | undefined): RegionCounters {
  if (!before) return after;
  const refused = Object.fromEntries(REFUSALS.map((reason) => [reason, after.refused[reason] - before.refused[reason]])) as Record<Refusal, number>;
  return {
    joinAttempts: after.joinAttempts - before.joinAttempts,
    joinsPlaced: after.joinsPlaced - before.joinsPlaced,
    refused,
    roomsPlaced: after.roomsPlaced - before.roomsPlaced,
    roomsMoved: after.roomsMoved - before.roomsMoved,
    moveWaitSumMs: after.moveWaitSumMs - before.moveWaitSumMs,
    moveWaitMaxMs: after.moveWaitMaxMs,
    roomsStranded: after.roomsStranded - before.roomsStranded,
    roomsShed: after.roomsShed - before.roomsShed,
    roomsElsewhere: after.roomsElsewhere - before.roomsElsewhere,
    roomsFar: after.roomsFar - before.roomsFar,
  };
}

/** Highest per-second rate, and highest 10-second average, of a per-second series between two seconds. */
export function doPeaks(series: ArrayLike<number>, base: number, fromSecond: number, toSecond: number): { peak: number; peak10: number; peakSecond: number } {
  let peak = 0;
  let peak10 = 0;
  let peakSecond = fromSecond;
  let window = 0;
  for (let s = fromSecond; s < toSecond; s++) {
    const value = series[base + s]!;
    window += value - (s - 10 >= fromSecond ? series[base + s - 10]! : 0);
    if (value > peak) peak = value;
    if (window / 10 > peak10) {
      peak10 = window / 10;
      peakSecond = s;
    }
  }
  return { peak, peak10, peakSecond };
}

export function summariseRegions(world: World, from: RegionCounters[] | null, fromMs: number, toMs: number): RegionSummary[] {
  const { meters, scale } = world;
  const full = (n: number) => Math.round(n / scale);
  const fromSecond = Math.max(0, Math.floor((fromMs - meters.startMs) / 1_000));
  const toSecond = Math.min(meters.seconds, Math.floor((toMs - meters.startMs) / 1_000));
  return world.regions.map((region, r) => {
    const c = minus(meters.counters[r]!, from?.[r]);
    let busiest = -1;
    for (let minute = Math.floor(fromSecond / 60); minute < Math.floor(toSecond / 60); minute++) {
      const mean = meters.samples[sampleIndex(meters, r, minute, field('utilMean'))]!;
      if (busiest < 0 || mean > meters.samples[sampleIndex(meters, r, busiest, field('utilMean'))]!) busiest = minute;
    }
    const mean = busiest < 0 ? 0 : meters.samples[sampleIndex(meters, r, busiest, field('utilMean'))]!;
    const max = busiest < 0 ? 0 : meters.samples[sampleIndex(meters, r, busiest, field('utilMax'))]!;
    const peaks = doPeaks(meters.regionDo, r * meters.seconds, fromSecond, toSecond);
    // A simulated shard stands for simShards ÷ (scale × fullShards) of a full-size one's requests.
    const perFullShard = region.shards.length / (scale * region.fullShards);
    let busiestShard = 0;
    for (let shard = 0; shard < region.shards.length; shard++) {
      busiestShard = Math.max(busiestShard, doPeaks(meters.shardDo, (r * meters.maxShards + shard) * meters.seconds, fromSecond, toSecond).peak10);
    }
    const minute = Math.floor(peaks.peakSecond / 60);
    const busiestMinute = Object.fromEntries(
      DO_SOURCES.map((source, i) => [source, Math.round(meters.regionDoBySource[(r * meters.minutes + minute) * DO_SOURCES.length + i]! / 60 / scale)]),
    ) as Record<DoSource, number>;
    return {
      region: MEDIA_REGION_IDS[r]!,
      nodes: full(region.nodes.length),
      joins: { attempts: full(c.joinAttempts), placed: full(c.joinsPlaced), refused: Object.fromEntries(REFUSALS.map((k) => [k, full(c.refused[k])])) as Record<Refusal, number> },
      rooms: {
        placed: full(c.roomsPlaced),
        moved: full(c.roomsMoved),
        waitMeanS: c.roomsMoved ? c.moveWaitSumMs / c.roomsMoved / 1_000 : 0,
        waitMaxS: c.moveWaitMaxMs / 1_000,
        stranded: full(c.roomsStranded),
        shed: full(c.roomsShed),
        elsewhere: full(c.roomsElsewhere),
        far: full(c.roomsFar),
      },
      load: { mean, max, maxOverMean: mean > 0 ? max / mean : 0, highestEver: Math.max(0, ...region.nodes.map((node) => node.peakUtilisation)) },
      regionDo: { peakPerSecond: peaks.peak / scale, peak10sPerSecond: peaks.peak10 / scale, busiestMinute, shards: region.fullShards, busiestShard10sPerSecond: busiestShard * perFullShard },
    };
  });
}

/** The busiest Durable Object of a run (a registry shard; a RoomDO) against the ~1,000 requests/s one object serves. */
export function doUtilisation(regions: readonly RegionSummary[], roomDoPeak: number): { regionDo: number; roomDo: number } {
  const regionDo = Math.max(...regions.map((region) => region.regionDo.busiestShard10sPerSecond));
  return { regionDo: regionDo / DO_REQUESTS_PER_SECOND, roomDo: roomDoPeak / DO_REQUESTS_PER_SECOND };
}
