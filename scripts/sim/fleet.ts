import { MEDIA_REGION_IDS } from './day-profile.js';
import { peakOf, type RegionCurves } from './demand-curves.js';
import type { MeetingModel } from './demand.js';
import { DEFAULT_NODE, nodeBudget, sizeRegion, type NodeBudget, type NodeSpec, type RegionSizing } from './capacity-model.js';
import type { MediaFigures } from './measured.js';
import { DEFAULT_BITRATES, meanRoomLoad, type Bitrates, type RoomLoad } from './room-load.js';
import type { FleetPlan } from './world.js';

export interface Fleet {
  meanRoom: RoomLoad;
  budget: NodeBudget;
  spec: NodeSpec;
  regions: (RegionSizing & { region: FleetPlan['region']; peakMinute: number })[];
  plans: FleetPlan[];
  kbpsPerConsumer: number;
}

/** Nodes per media region for its own peak (scaled), by the capacity model. */
export function planFleet(curves: readonly RegionCurves[], model: MeetingModel, figures: MediaFigures, scale: number, spec: NodeSpec = DEFAULT_NODE, bitrates: Bitrates = DEFAULT_BITRATES): Fleet {
  const meanRoom = meanRoomLoad(model.meanParticipants, model.minParticipants, bitrates);
  const budget = nodeBudget(spec, figures, meanRoom);
  const regions = MEDIA_REGION_IDS.map((region) => {
    const curve = curves.find((entry) => entry.region === region)!;
    const peak = peakOf(curve.rooms);
    return { region, peakMinute: peak.minute, ...sizeRegion(peak.value * scale, meanRoom, budget) };
  });
  return {
    meanRoom,
    budget,
    spec,
    regions,
    plans: regions.map(({ region, baseline, reserve }) => ({ region, baseline, reserve })),
    kbpsPerConsumer: (meanRoom.kbpsIn + meanRoom.kbpsOut) / meanRoom.consumers,
  };
}
