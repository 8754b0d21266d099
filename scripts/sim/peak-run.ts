import { MEDIA_REGION_IDS } from './day-profile.js';
import { MINUTE_MS } from './demand.js';
import { DEFAULT_MAX_PARTICIPANTS, injectFault, runSim, startSim, type Fault, type RunParams, type Sim } from './engine.js';
import { planFleet } from './fleet.js';
import type { RegionCounters } from './meters.js';
import type { Prepared } from './prepare.js';
import { buildRegions, newWorld } from './world.js';

export const SCENARIOS = ['normal', 'nodeLoss', 'regionLoss', 'flashCrowd'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface PeakOptions {
  seed: number;
  scale: number;
  /** Simulated time before the fault (counted; the state starts in steady state). */
  beforeMinutes: number;
  afterMinutes: number;
  /** The flash crowd: this many times the region's join rate, on one link, for this long. */
  flashFactor: number;
  flashSeconds: number;
  /** A room placed farther than this from its clients' region is displaced far (≈ 60 ms round trip). */
  farKm: number;
  /** Model the "full" answer cached at the edge (full-cache.ts; the code answers guests from it). */
  edgeFullCache: boolean;
}

export const FULL_PEAK: Omit<PeakOptions, 'seed' | 'scale'> = { beforeMinutes: 45, afterMinutes: 30, flashFactor: 10, flashSeconds: 60, farKm: 6_000, edgeFullCache: true };

/** A finished scenario: its final state, the counters at the fault (to report what came after). */
export interface ScenarioRun {
  name: ScenarioName;
  sim: Sim;
  atFault: RegionCounters[];
  startAt: number;
  faultAt: number;
  endAt: number;
}

function faultOf(name: ScenarioName, prep: Prepared, options: PeakOptions, at: number): Fault | null {
  const region = prep.busiest.region;
  switch (name) {
    case 'normal':
      return null;
    case 'nodeLoss':
      return { kind: 'killNode', at, region };
    case 'regionLoss':
      return { kind: 'loseRegion', at, region };
    case 'flashCrowd':
      // One link takes (factor − 1) × the region's whole join rate on top of it: one RoomDO, full size.
      return {
        kind: 'flashCrowd',
        at,
        region,
        joinsPerSecond: (options.flashFactor - 1) * prep.busiest.joinsPerSecond,
        seconds: options.flashSeconds,
        maxParticipants: DEFAULT_MAX_PARTICIPANTS,
        edgeFullCache: options.edgeFullCache,
      };
  }
}

/**
 * The busiest region's peak at the given scale: one steady-state run up to the fault, then each
 * scenario from a copy of that state (the normal one continues the original). `onRun` gets each
 * finished scenario in turn, so only a few copies of the world are alive at once.
 */
export function runPeakScenarios(prep: Prepared, options: PeakOptions, onRun: (run: ScenarioRun) => void): void {
  const fleet = planFleet(prep.curves, prep.model, prep.figures, options.scale);
  const faultAt = prep.busiest.peakMinute * MINUTE_MS;
  const startAt = faultAt - options.beforeMinutes * MINUTE_MS;
  const endAt = faultAt + options.afterMinutes * MINUTE_MS;
  const regions = buildRegions(fleet.plans, fleet.budget.consumers, fleet.budget.byResource.cpu, fleet.spec.cores, startAt, options.scale);
  const params: RunParams = {
    model: prep.model,
    starts: prep.starts,
    kbpsPerConsumer: fleet.kbpsPerConsumer,
    farKm: options.farKm,
    faults: [],
    outcome: { killed: null, flashSlot: -1 },
  };
  const sim: Sim = { world: newWorld(options.seed, options.scale, regions, startAt, endAt), params, counting: true };
  startSim(sim);
  runSim(sim, faultAt);
  const atFault = structuredClone(sim.world.meters.counters);
  const snapshot = structuredClone(sim);
  // The faults first, each from a copy; the normal day last, on the original.
  for (const name of [...SCENARIOS.filter((n) => n !== 'normal'), 'normal' as const]) {
    const run = name === 'normal' ? sim : structuredClone(snapshot);
    const fault = faultOf(name, prep, options, faultAt);
    if (fault) injectFault(run, fault);
    runSim(run, endAt);
    onRun({ name, sim: run, atFault, startAt, faultAt, endAt });
  }
}

export const regionName = (index: number) => MEDIA_REGION_IDS[index]!;
