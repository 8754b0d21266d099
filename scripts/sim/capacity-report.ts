import { consumersPerRoom, MEDIA_REGIONS, PLAN, type RegionId } from '../../schema/regions.js';
import { PLANNED_UTILISATION, type Resource } from './capacity-model.js';
import { peakOf } from './demand-curves.js';
import type { Fleet } from './fleet.js';
import { GUIDANCE } from './measured.js';
import { PLAN_BANDWIDTH, planBandwidthTable, planCpuCheck } from './plan-bandwidth.js';
import type { Prepared } from './prepare.js';

/** Everything docs/capacity.md and the console print, computed once. */
export interface CapacityReport {
  plan: ReturnType<typeof planBandwidthTable>;
  cpuAtFigure: ReturnType<typeof planCpuCheck>;
  cpuAtGuidance: ReturnType<typeof planCpuCheck>;
  /** Our bitrate model applied to the plan's concurrent rooms. */
  modelGbpsAtPlanRooms: number;
  kbpsPerRoom: { in: number; out: number };
  regions: { region: RegionId; planRooms: number; peakRooms: number; peakUtc: string; nodesBy: Record<Resource, number>; binding: Resource; baseline: number; reserve: number }[];
  totals: { baseline: number; reserve: number };
}

export function capacityReport(prep: Prepared, fleet: Fleet): CapacityReport {
  const plan = planBandwidthTable();
  const hosts = plan.baseline + plan.reserve;
  const regions = fleet.regions.map((sizing) => {
    const curve = prep.curves.find((c) => c.region === sizing.region)!;
    const peak = peakOf(curve.rooms);
    const share = MEDIA_REGIONS.find((r) => r.id === sizing.region)!.peakShare;
    const minute = peak.minute;
    return {
      region: sizing.region,
      planRooms: share * PLAN.concurrentRooms,
      peakRooms: peak.value,
      peakUtc: `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`,
      nodesBy: sizing.nodesByResource,
      binding: sizing.binding,
      baseline: sizing.baseline,
      reserve: sizing.reserve,
    };
  });
  return {
    plan,
    cpuAtFigure: planCpuCheck(hosts, consumersPerRoom(), prep.figures.consumersPerCore.value),
    cpuAtGuidance: planCpuCheck(hosts, consumersPerRoom(), GUIDANCE.consumersPerCore),
    modelGbpsAtPlanRooms: (PLAN.concurrentRooms * (fleet.meanRoom.kbpsIn + fleet.meanRoom.kbpsOut)) / 1e6,
    kbpsPerRoom: { in: fleet.meanRoom.kbpsIn, out: fleet.meanRoom.kbpsOut },
    regions,
    totals: { baseline: regions.reduce((n, r) => n + r.baseline, 0), reserve: regions.reduce((n, r) => n + r.reserve, 0) },
  };
}

export const PLANNED = PLANNED_UTILISATION;
export { PLAN_BANDWIDTH };
