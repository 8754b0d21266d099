import { loadMediaFigures } from '../sim/measured.js';
import { runPeakScenarios, type PeakOptions, type ScenarioName, type ScenarioRun } from '../sim/peak-run.js';
import { prepare, type Prepared } from '../sim/prepare.js';

/** A small, quick version of the busiest region's peak: every scenario, a few dozen nodes per region. */
export const SMALL: Omit<PeakOptions, 'seed'> = { scale: 0.004, beforeMinutes: 6, afterMinutes: 4, flashFactor: 10, flashSeconds: 2, farKm: 6_000, edgeFullCache: false };

let prepared: Prepared | null = null;

/** The demand and fleet of the plan, from mediasoup's guidance (bench results are ignored). */
export function plan(): Prepared {
  prepared ??= prepare(loadMediaFigures('/nonexistent'));
  return prepared;
}

export function runSmall(seed: number, options: Partial<PeakOptions> = {}): Map<ScenarioName, ScenarioRun> {
  const runs = new Map<ScenarioName, ScenarioRun>();
  runPeakScenarios(plan(), { ...SMALL, seed, ...options }, (run) => runs.set(run.name, run));
  return runs;
}
