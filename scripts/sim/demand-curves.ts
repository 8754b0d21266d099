import { PLAN, type RegionId } from '../../schema/regions.js';
import { MEDIA_REGION_IDS, MINUTES_PER_DAY as DAY_MINUTES } from './day-profile.js';

// Local copy: these loops run millions of times and an imported binding is re-read on each use.
const MINUTES_PER_DAY = DAY_MINUTES;
import { startsPerMinute, type MeetingModel } from './demand.js';

/**
 * Expected values of the demand model per UTC minute (no sampling): joins per second and
 * concurrent rooms per region. The capacity planner sizes the fleet from these, and the scheduled
 * share is calibrated on them so the world's busiest minute has the plan's peak join rate.
 */
export interface RegionCurves {
  region: RegionId;
  /** Mean joins per second within each minute. */
  joinsPerSecond: Float64Array;
  /** Rooms open at each minute. */
  rooms: Float64Array;
}

const exponentialCdf = (minutes: number, meanSeconds: number) => (minutes <= 0 ? 0 : 1 - Math.exp((-minutes * 60) / meanSeconds));

/** P(arrival falls in minute j after the start minute), for a start at offset `within` (0..1) of it. */
function arrivalKernel(meanSeconds: number, within: readonly number[]): Float64Array {
  const length = Math.ceil((meanSeconds * 12) / 60) + 2;
  const kernel = new Float64Array(length);
  for (const u of within) {
    for (let j = 0; j < length; j++) kernel[j]! += (exponentialCdf(j + 1 - u, meanSeconds) - exponentialCdf(j - u, meanSeconds)) / within.length;
  }
  return kernel;
}

function survivalKernel(model: MeetingModel): Float64Array {
  const mu = Math.log(model.meanMinutes) - model.durationSigma ** 2 / 2;
  const erfc = (x: number) => {
    // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7.
    const t = 1 / (1 + 0.3275911 * Math.abs(x));
    const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
    return x >= 0 ? y : 2 - y;
  };
  const kernel = new Float64Array(MINUTES_PER_DAY);
  for (let d = 0; d < MINUTES_PER_DAY; d++) {
    // Meetings last at least 2 minutes (demand.ts); the lognormal tail beyond a day is negligible.
    const minutes = d + 0.5;
    kernel[d] = minutes < 2 ? 1 : 0.5 * erfc((Math.log(minutes) - mu) / (model.durationSigma * Math.SQRT2));
  }
  return kernel;
}

function convolve(input: Float64Array, kernel: Float64Array, weight = 1): Float64Array {
  const out = new Float64Array(MINUTES_PER_DAY);
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const value = input[m]! * weight;
    if (value === 0) continue;
    for (let j = 0; j < kernel.length; j++) out[(m + j) % MINUTES_PER_DAY]! += value * kernel[j]!;
  }
  return out;
}

function joinsCurve(region: RegionId, model: MeetingModel): Float64Array {
  const starts = startsPerMinute(region, model);
  const unscheduled = starts.total.map((total, m) => total - starts.scheduled[m]!);
  const uniform = [0.1, 0.3, 0.5, 0.7, 0.9];
  const others = model.meanParticipants - 1;
  const joins = new Float64Array(MINUTES_PER_DAY);
  const parts: [Float64Array, Float64Array, number][] = [
    [starts.scheduled, arrivalKernel(model.hostDelayMeanS, [0]), 1],
    [starts.scheduled, arrivalKernel(model.joinDelayMeanS, [0]), others],
    [unscheduled, arrivalKernel(model.hostDelayMeanS, uniform), 1],
    [unscheduled, arrivalKernel(model.joinDelayMeanS, uniform), others],
  ];
  for (const [input, kernel, weight] of parts) {
    const part = convolve(input, kernel, weight);
    for (let m = 0; m < MINUTES_PER_DAY; m++) joins[m]! += part[m]! / 60;
  }
  return joins;
}

export function regionCurves(region: RegionId, model: MeetingModel): RegionCurves {
  return { region, joinsPerSecond: joinsCurve(region, model), rooms: convolve(startsPerMinute(region, model).total, survivalKernel(model)) };
}

export function worldCurves(model: MeetingModel): RegionCurves[] {
  return MEDIA_REGION_IDS.map((region) => regionCurves(region, model));
}

export function peakOf(values: Float64Array): { value: number; minute: number } {
  let minute = 0;
  for (let m = 1; m < values.length; m++) if (values[m]! > values[minute]!) minute = m;
  return { value: values[minute]!, minute };
}

export function sumCurves(curves: readonly RegionCurves[], pick: (curve: RegionCurves) => Float64Array): Float64Array {
  const total = new Float64Array(MINUTES_PER_DAY);
  for (const curve of curves) pick(curve).forEach((value, m) => (total[m]! += value));
  return total;
}

/**
 * The scheduled share for which the world's busiest minute averages `targetJoinsPerSecond`.
 * Joins are linear in the share, so two evaluations and a bisection over their mix suffice.
 * Stays at 0 when the day's shape alone exceeds the target.
 */
export function calibrateScheduledShare(model: MeetingModel, targetJoinsPerSecond: number = PLAN.peakJoinsPerSecond): MeetingModel {
  const world = (share: number) => {
    const total = new Float64Array(MINUTES_PER_DAY);
    for (const region of MEDIA_REGION_IDS) joinsCurve(region, { ...model, scheduledShare: share }).forEach((value, m) => (total[m]! += value));
    return total;
  };
  const none = world(0);
  const all = world(1);
  const peakAt = (share: number) => {
    let peak = 0;
    for (let m = 0; m < MINUTES_PER_DAY; m++) peak = Math.max(peak, (1 - share) * none[m]! + share * all[m]!);
    return peak;
  };
  let low = 0;
  let high = 0.95;
  if (peakAt(low) >= targetJoinsPerSecond) return { ...model, scheduledShare: 0 };
  if (peakAt(high) <= targetJoinsPerSecond) return { ...model, scheduledShare: high };
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (peakAt(mid) < targetJoinsPerSecond) low = mid;
    else high = mid;
  }
  return { ...model, scheduledShare: Math.round(((low + high) / 2) * 1e4) / 1e4 };
}
