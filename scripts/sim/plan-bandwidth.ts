import { MEDIA_REGIONS, PLAN, reserveNodes, type RegionId } from '../../schema/regions.js';

/** The capacity plan's own media sizing: bandwidth at peak over usable bandwidth per host. */
export const PLAN_BANDWIDTH = { peakMediaGbps: 5_211, usableGbpsPerHost: 80 } as const;

export interface PlanBandwidthRow {
  region: RegionId;
  gbps: number;
  baseline: number;
  reserve: number;
}

/** Each media region's share of the peak, in hosts of the plan's size (ceil), plus ceil(2N/(N+1)). */
export function planBandwidthTable(plan = PLAN_BANDWIDTH): { rows: PlanBandwidthRow[]; baseline: number; reserve: number } {
  const rows = MEDIA_REGIONS.map((region) => {
    const gbps = region.peakShare * plan.peakMediaGbps;
    const baseline = Math.ceil(gbps / plan.usableGbpsPerHost);
    return { region: region.id, gbps, baseline, reserve: reserveNodes(baseline) };
  });
  return { rows, baseline: rows.reduce((n, row) => n + row.baseline, 0), reserve: rows.reduce((n, row) => n + row.reserve, 0) };
}

/** Whether the plan's hosts have the cores for the plan's consumers at a given consumers-per-core figure. */
export function planCpuCheck(hosts: number, consumersPerRoom: number, consumersPerCore: number) {
  const consumers = PLAN.concurrentRooms * consumersPerRoom;
  const coresNeeded = consumers / consumersPerCore;
  const hostsNeeded = Math.ceil(coresNeeded / PLAN.coresPerMediaNode);
  const consumersPerCoreNeeded = consumers / (hosts * PLAN.coresPerMediaNode);
  return { consumers, coresNeeded, hostsNeeded, hostsPlanned: hosts, consumersPerCoreNeeded, allows: hostsNeeded <= hosts };
}
