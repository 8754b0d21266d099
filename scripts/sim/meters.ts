/**
 * What the simulation counts: per-second request rates of the Durable Objects, joins, and per
 * region what happened to them. Plain typed arrays (cloneable), sized for the simulated window.
 */
export const REFUSALS = ['MEETING_FULL', 'MEETING_ENDED', 'NO_MEDIA_CAPACITY', 'DO_OVERLOADED'] as const;
export type Refusal = (typeof REFUSALS)[number];

/** Why a RegionDO is asked something: node heartbeats, placements, releases, node events, its alarm. */
export const DO_SOURCES = ['heartbeat', 'place', 'release', 'nodeEvent', 'alarm'] as const;
export type DoSource = (typeof DO_SOURCES)[number];

export interface RegionCounters {
  joinAttempts: number;
  joinsPlaced: number;
  refused: Record<Refusal, number>;
  roomsPlaced: number;
  roomsMoved: number;
  moveWaitSumMs: number;
  moveWaitMaxMs: number;
  /** Rooms whose node died and that found no other node (participants without media). */
  roomsStranded: number;
  /** Rooms an overloaded node handed over (make-before-break), by their clients' region. */
  roomsShed: number;
  /** Rooms of this region's clients placed in another region, and how many of them far away. */
  roomsElsewhere: number;
  roomsFar: number;
}

export const SAMPLE_FIELDS = ['rooms', 'utilMean', 'utilMax', 'nodesUp', 'participants'] as const;

export interface Meters {
  startMs: number;
  seconds: number;
  minutes: number;
  regionCount: number;
  /** Join attempts per second, world and per home region. */
  joins: Int32Array;
  regionJoins: Int32Array;
  /** Requests per RegionDO per second, and per source per minute (fractional: see countRegionDo). */
  regionDo: Float64Array;
  regionDoBySource: Float64Array;
  /** Requests per registry shard per second: [region][shard][second], `maxShards` shards a region. */
  maxShards: number;
  shardDo: Float32Array;
  /** Busiest RoomDO seen (requests in one second), in which region. */
  roomDoPeak: number;
  roomDoPeakRegion: number;
  /** Requests per second the flash-crowd RoomDO took, and was offered (taken or refused as overload). */
  flashDo: Int32Array;
  flashOffered: Int32Array;
  /** What became of its joins; `cachedFull`: refused at the edge from a cached "full" (never reached the object). */
  flash: { attempts: number; placed: number; refused: Record<Refusal, number>; sheds: number; cachedFull: number };
  counters: RegionCounters[];
  /** Per minute and region: SAMPLE_FIELDS. */
  samples: Float64Array;
}

function counters(): RegionCounters {
  return {
    joinAttempts: 0,
    joinsPlaced: 0,
    refused: { MEETING_FULL: 0, MEETING_ENDED: 0, NO_MEDIA_CAPACITY: 0, DO_OVERLOADED: 0 },
    roomsPlaced: 0,
    roomsMoved: 0,
    moveWaitSumMs: 0,
    moveWaitMaxMs: 0,
    roomsStranded: 0,
    roomsShed: 0,
    roomsElsewhere: 0,
    roomsFar: 0,
  };
}

export function newMeters(regionCount: number, startMs: number, endMs: number, maxShards = 1): Meters {
  const seconds = Math.ceil((endMs - startMs) / 1_000) + 1;
  const minutes = Math.ceil(seconds / 60) + 1;
  return {
    startMs,
    seconds,
    minutes,
    regionCount,
    joins: new Int32Array(seconds),
    regionJoins: new Int32Array(regionCount * seconds),
    regionDo: new Float64Array(regionCount * seconds),
    regionDoBySource: new Float64Array(regionCount * minutes * DO_SOURCES.length),
    maxShards,
    shardDo: new Float32Array(regionCount * maxShards * seconds),
    roomDoPeak: 0,
    roomDoPeakRegion: -1,
    flashDo: new Int32Array(seconds),
    flashOffered: new Int32Array(seconds),
    flash: { attempts: 0, placed: 0, refused: { MEETING_FULL: 0, MEETING_ENDED: 0, NO_MEDIA_CAPACITY: 0, DO_OVERLOADED: 0 }, sheds: 0, cachedFull: 0 },
    counters: Array.from({ length: regionCount }, counters),
    samples: new Float64Array(regionCount * minutes * SAMPLE_FIELDS.length),
  };
}

export function secondOf(meters: Meters, nowMs: number): number {
  return Math.min(meters.seconds - 1, Math.max(0, Math.floor((nowMs - meters.startMs) / 1_000)));
}

/**
 * Counts requests to one shard of a region's registry (a RegionDO). Reports divide by the scale;
 * what does not grow with the scale (the object's own alarm) is counted as `scale` requests so it
 * comes out as one.
 */
export function countRegionDo(meters: Meters, region: number, shard: number, source: number, nowMs: number, requests = 1): void {
  const second = secondOf(meters, nowMs);
  meters.regionDo[region * meters.seconds + second]! += requests;
  meters.shardDo[(region * meters.maxShards + shard) * meters.seconds + second]! += requests;
  const minute = Math.floor(second / 60);
  meters.regionDoBySource[(region * meters.minutes + minute) * DO_SOURCES.length + source]! += requests;
}

export function countJoin(meters: Meters, region: number, nowMs: number): void {
  const second = secondOf(meters, nowMs);
  meters.joins[second]! += 1;
  meters.regionJoins[region * meters.seconds + second]! += 1;
  meters.counters[region]!.joinAttempts += 1;
}

export function noteRoomDoRate(meters: Meters, region: number, requestsInOneSecond: number): void {
  if (requestsInOneSecond > meters.roomDoPeak) {
    meters.roomDoPeak = requestsInOneSecond;
    meters.roomDoPeakRegion = region;
  }
}

export function sampleIndex(meters: Meters, region: number, minute: number, field: number): number {
  return (region * meters.minutes + minute) * SAMPLE_FIELDS.length + field;
}
