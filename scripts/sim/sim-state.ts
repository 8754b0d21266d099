import type { MeetingModel, MinuteStarts } from './demand.js';
import type { FullCache } from './full-cache.js';
import { DO_SOURCES } from './meters.js';
import type { World } from './world.js';

/** How long a room keeps its node after the last person left (edge/room/media.ts RELEASE_GRACE_MS). */
export const RELEASE_GRACE_MS = 60_000;
/** Default meeting limit (schema/wire/http.ts maxParticipants default). */
export const DEFAULT_MAX_PARTICIPANTS = 100;

/** Event kinds in the calendar. */
export const KIND = { tick: 0, join: 1, end: 2, release: 3, alarm: 4, flashJoin: 5, fault: 6, move: 7 } as const;
/** Index of each RegionDO request source in the meters. */
export const SOURCE = Object.fromEntries(DO_SOURCES.map((source, i) => [source, i])) as Record<(typeof DO_SOURCES)[number], number>;

export type Fault =
  | { kind: 'killNode'; at: number; region: number }
  | { kind: 'loseRegion'; at: number; region: number }
  | { kind: 'flashCrowd'; at: number; region: number; joinsPerSecond: number; seconds: number; maxParticipants: number; edgeFullCache: boolean };

/** Everything the run needs besides its state; plain data so a World with it clones. */
export interface RunParams {
  model: MeetingModel;
  starts: MinuteStarts[];
  kbpsPerConsumer: number;
  /** A room placed farther than this from its clients' region counts as displaced far away. */
  farKm: number;
  faults: Fault[];
  /** Filled in as faults happen: the killed node, the flash room's slot. */
  outcome: { killed: { region: number; node: number; rooms: number } | null; flashSlot: number; fullCache?: FullCache };
}

export interface Sim {
  world: World;
  params: RunParams;
  /** Joins before the window starts (steady state) are applied without being counted. */
  counting: boolean;
}
