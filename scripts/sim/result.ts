import { DO_REQUESTS_PER_SECOND } from './admission.js';
import type { DayResult } from './day-run.js';
import { SAMPLE_FIELDS, sampleIndex } from './meters.js';
import type { ScenarioName, ScenarioRun } from './peak-run.js';
import type { ScenarioSummary } from './scenario-summary.js';

/** bench-results/simulation.json: exactly these fields. */
export interface Headline {
  wallSeconds: number;
  peakJoinsPerSec: number;
  concurrentRoomsPeak: number;
  maxOverMeanLoad: number;
  maxDoUtilisation: number;
  refusedJoinsNodeLoss: number;
  regionLossShortfallPct: number;
}

export interface RunInfo {
  seed: number;
  cpuSeconds: number;
  scale: number;
  dayScale: number;
  fleetNodes: number;
  consumersPerCore: { value: number; source: string };
  rssPerParticipantKb: { value: number; source: string };
  nodeBudgetConsumers: number;
  binding: string;
  scheduledShare: number;
  busiestRegion: string;
  faultUtc: string;
  /**
   * The busiest objects without registry shards (which the code lacks) and with a signed-in crowd
   * (the edge's cached "full" answers guests only): a region's whole registry in one RegionDO,
   * and every flash-crowd join reaching the RoomDO.
   */
  doUtilisationCodeToday: { regionDo: number; roomDo: number };
}

/** The busiest region's node load per minute in each scenario (for the peak chart). */
export interface PeakPoint {
  scenario: ScenarioName;
  minute: number;
  utilMean: number;
  utilMax: number;
}

export interface SimulationResult {
  headline: Headline;
  run: RunInfo;
  day: Omit<DayResult, 'series'>;
  scenarios: ScenarioSummary[];
}

export function peakPoints(run: ScenarioRun, region: number): PeakPoint[] {
  const meters = run.sim.world.meters;
  const points: PeakPoint[] = [];
  const first = Math.floor(run.startAt / 60_000);
  for (let minute = 0; minute < Math.floor((run.endAt - run.startAt) / 60_000); minute++) {
    points.push({
      scenario: run.name,
      minute: first + minute,
      utilMean: meters.samples[sampleIndex(meters, region, minute, SAMPLE_FIELDS.indexOf('utilMean'))]!,
      utilMax: meters.samples[sampleIndex(meters, region, minute, SAMPLE_FIELDS.indexOf('utilMax'))]!,
    });
  }
  return points;
}

export function headline(wallSeconds: number, day: Omit<DayResult, 'series'>, scenarios: readonly ScenarioSummary[], busiest: number): Headline {
  const byName = (name: ScenarioName) => scenarios.find((scenario) => scenario.name === name);
  const normal = byName('normal');
  const nodeLoss = byName('nodeLoss');
  const dayDo = Math.max(...day.regions.map((region) => region.regionDo.busiestShard10sPerSecond)) / DO_REQUESTS_PER_SECOND;
  const refused = (summary: ScenarioSummary | undefined) =>
    summary ? summary.regions.reduce((sum, region) => sum + Object.values(region.joins.refused).reduce((a, b) => a + b, 0), 0) : 0;
  return {
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    peakJoinsPerSec: Math.round(day.peakJoinsPerSecond),
    concurrentRoomsPeak: Math.round(day.concurrentRoomsPeak),
    maxOverMeanLoad: round3(Math.max(...day.regions.map((region) => region.load.maxOverMean), normal?.regions[busiest]?.load.maxOverMean ?? 0)),
    maxDoUtilisation: round3(Math.max(dayDo, day.roomDoPeak / DO_REQUESTS_PER_SECOND, ...scenarios.map((s) => Math.max(s.doUtilisation.regionDo, s.doUtilisation.roomDo)))),
    refusedJoinsNodeLoss: refused(nodeLoss),
    regionLossShortfallPct: round3(byName('regionLoss')?.regionLoss?.shortfallPct ?? 0),
  };
}

/** See RunInfo.doUtilisationCodeToday. */
export function doUtilisationCodeToday(day: Omit<DayResult, 'series'>, scenarios: readonly ScenarioSummary[]): RunInfo['doUtilisationCodeToday'] {
  const regions = [...day.regions, ...scenarios.flatMap((scenario) => scenario.regions)];
  const flash = scenarios.find((scenario) => scenario.flashCrowd)?.flashCrowd;
  return {
    regionDo: round3(Math.max(...regions.map((region) => region.regionDo.peak10sPerSecond)) / DO_REQUESTS_PER_SECOND),
    roomDo: round3((flash ? flash.joinsPerSecond + flash.admitted : day.roomDoPeak) / DO_REQUESTS_PER_SECOND),
  };
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;
