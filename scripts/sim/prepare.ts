import { MEDIA_REGION_IDS } from './day-profile.js';
import { calibrateScheduledShare, peakOf, worldCurves, type RegionCurves } from './demand-curves.js';
import { PLAN_MEETINGS, startsPerMinute, type MeetingModel, type MinuteStarts } from './demand.js';
import { planFleet, type Fleet } from './fleet.js';
import type { MediaFigures } from './measured.js';

/** Everything fixed before a run: the calibrated demand, its expected curves, the full-size fleet. */
export interface Prepared {
  model: MeetingModel;
  curves: RegionCurves[];
  starts: MinuteStarts[];
  figures: MediaFigures;
  /** The fleet at full size (scale 1). */
  fleet: Fleet;
  /** The region whose own peak is busiest, that peak's minute (UTC), and its mean join rate over the hour around it. */
  busiest: { region: number; peakMinute: number; joinsPerSecond: number };
}

export function prepare(figures: MediaFigures): Prepared {
  const model = calibrateScheduledShare(PLAN_MEETINGS);
  const curves = worldCurves(model);
  const starts = MEDIA_REGION_IDS.map((region) => startsPerMinute(region, model));
  const fleet = planFleet(curves, model, figures, 1);
  let busiest = 0;
  curves.forEach((curve, i) => {
    if (peakOf(curve.rooms).value > peakOf(curves[busiest]!.rooms).value) busiest = i;
  });
  const peakMinute = peakOf(curves[busiest]!.rooms).minute;
  let joins = 0;
  for (let m = peakMinute - 30; m < peakMinute + 30; m++) joins += curves[busiest]!.joinsPerSecond[(m + 1_440) % 1_440]!;
  return { model, curves, starts, figures, fleet, busiest: { region: busiest, peakMinute, joinsPerSecond: joins / 60 } };
}

export function fleetSize(fleet: Fleet): number {
  return fleet.plans.reduce((sum, plan) => sum + plan.baseline + plan.reserve, 0);
}
