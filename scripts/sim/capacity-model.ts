import { PLAN, reserveNodes } from '../../schema/regions.js';
import type { MediaFigures } from './measured.js';
import type { RoomLoad } from './room-load.js';

/** One media host. */
export interface NodeSpec {
  cores: number;
  /** NIC line rate, and the share of it usable for media (the rest: headroom, retransmits, bursts). */
  nicGbps: number;
  nicUsable: number;
  ramGb: number;
  /** RAM kept for the OS, Node.js and ffmpeg. */
  ramReservedGb: number;
}

export const DEFAULT_NODE: NodeSpec = { cores: PLAN.coresPerMediaNode, nicGbps: 25, nicUsable: 0.8, ramGb: 64, ramReservedGb: 8 };

/**
 * Planned use of the binding resource at the region's peak. Placement stops at 0.85
 * (edge/registry/placement.ts); planning at 0.80 leaves room for imbalance and rooms still growing.
 */
export const PLANNED_UTILISATION = 0.8;

export type Resource = 'cpu' | 'bandwidth' | 'memory';

/** What one node carries by each resource, in the average room's consumers (the node's budget unit). */
export interface NodeBudget {
  byResource: Record<Resource, number>;
  binding: Resource;
  /** Consumers the node accepts: its reported consumerCapacity (CONSUMERS_PER_WORKER × workers). */
  consumers: number;
  /** Consumers one core forwards at 100% CPU. */
  consumersPerCore: number;
}

export function nodeBudget(spec: NodeSpec, figures: MediaFigures, meanRoom: RoomLoad): NodeBudget {
  const kbpsPerConsumer = (meanRoom.kbpsIn + meanRoom.kbpsOut) / meanRoom.consumers;
  const participantsPerConsumer = meanRoom.participants / meanRoom.consumers;
  const byResource: Record<Resource, number> = {
    cpu: spec.cores * figures.consumersPerCore.value,
    bandwidth: (spec.nicGbps * 1e6 * spec.nicUsable) / kbpsPerConsumer,
    memory: ((spec.ramGb - spec.ramReservedGb) * 1e6) / figures.rssPerParticipantKb.value / participantsPerConsumer,
  };
  const binding = (Object.keys(byResource) as Resource[]).reduce((a, b) => (byResource[b] < byResource[a] ? b : a));
  return { byResource, binding, consumers: Math.floor(byResource[binding]), consumersPerCore: figures.consumersPerCore.value };
}

export interface RegionSizing {
  peakRooms: number;
  nodesByResource: Record<Resource, number>;
  binding: Resource;
  baseline: number;
  reserve: number;
}

/** Nodes a region needs for its peak: each resource on its own, the largest binds; plus the plan's reserve. */
export function sizeRegion(peakRooms: number, meanRoom: RoomLoad, budget: NodeBudget, utilisation = PLANNED_UTILISATION): RegionSizing {
  const consumers = peakRooms * meanRoom.consumers;
  const nodesByResource: Record<Resource, number> = {
    cpu: Math.ceil(consumers / (budget.byResource.cpu * utilisation)),
    bandwidth: Math.ceil(consumers / (budget.byResource.bandwidth * utilisation)),
    memory: Math.ceil(consumers / (budget.byResource.memory * utilisation)),
  };
  if (peakRooms <= 0) return { peakRooms, nodesByResource, binding: budget.binding, baseline: 0, reserve: 0 };
  const binding = (Object.keys(nodesByResource) as Resource[]).reduce((a, b) => (nodesByResource[b] > nodesByResource[a] ? b : a));
  const baseline = Math.max(1, nodesByResource[binding]);
  return { peakRooms, nodesByResource, binding, baseline, reserve: reserveNodes(baseline) };
}
