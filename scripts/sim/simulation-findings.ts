import { PLAN } from '../../schema/regions.js';
import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import { DO_REQUESTS_PER_SECOND } from './admission.js';
import { peakOf } from './demand-curves.js';
import { fixed, int, pct } from './markdown.js';
import type { Prepared } from './prepare.js';
import type { SimulationResult } from './result.js';
import type { ScenarioSummary } from './scenario-summary.js';

const region75 = (s: ScenarioSummary) => `${s.window.fromUtc}–${s.window.toUtc} UTC`;

/** What the numbers say, in a few sentences each (part of the generated docs/simulation.md). */
export function findings(result: SimulationResult, prep: Prepared): string {
  const busiest = prep.busiest.region;
  const scenario = (name: string) => result.scenarios.find((s) => s.name === name);
  const normal = scenario('normal');
  const lines: string[] = ['## What this shows', ''];
  const regionPeakJoins = peakOf(prep.curves[busiest]!.joinsPerSecond).value;
  lines.push(
    `- **Demand.** With meetings by local time of day the busiest region (${result.run.busiestRegion}) peaks at ${int(regionPeakJoins)} joins/s (the plan assumes ${int(PLAN.busiestRegionJoinsPerSecond)}) and the regions' own peaks add up to ${int(prep.curves.reduce((n, c) => n + peakOf(c.rooms).value, 0))} rooms, against the plan's ${int(PLAN.concurrentRooms)} (a daily mean). A fleet sized on the plan's figures would be short at every region's peak.`,
  );
  if (normal) {
    const hot = normal.regions[busiest]!;
    const m = hot.regionDo.busiestMinute;
    const room = DO_REQUESTS_PER_SECOND / 2 - m.place - m.release - m.nodeEvent;
    const nodesUnderHalf =
      room > 0
        ? `Below half the limit one registry object could hold ~${int(room * (NODE_HEARTBEAT_INTERVAL_MS / 1_000))} nodes while node events pass through it.`
        : 'Node events and placements alone exceed half the limit, before a single heartbeat.';
    lines.push(
      `- **RegionDO load.** ${hot.region}'s RegionDO takes ${int(hot.regionDo.peak10sPerSecond)} requests/s at its peak (${fixed(hot.regionDo.peak10sPerSecond / DO_REQUESTS_PER_SECOND, 1)}× the ~1,000/s one object serves): heartbeats are one per node every ${NODE_HEARTBEAT_INTERVAL_MS / 1_000} s (${int(m.heartbeat)}/s for ${int(hot.nodes)} nodes), node events ${int(m.nodeEvent)}/s (a participantLeft per person and a roomClosed per room pass through it), placements ${int(m.place)}/s. ${nodesUnderHalf} Placement also reads and scores every node of the region for every room.`,
      `- **Balance.** At ${hot.region}'s peak the most loaded node carries ${fixed(hot.load.maxOverMean, 2)}× the mean (mean ${pct(hot.load.mean)}); the highest any node reached was ${pct(hot.load.highestEver)} of its budget, and overloaded nodes shed ${int(hot.rooms.shed)} rooms (each a meeting whose people all move) in ${region75(normal)}. A room reaches its size minutes after it is placed, while the reservation for it (${PLAN.avgParticipants} people) lapses at the node's next heartbeat, when the node reports the room with the few people in it so far: the node that looks emptiest keeps getting the newest rooms. Reserving for each room younger than a few minutes (the RegionDO knows when it assigned them) would keep nodes nearer the placement limit.`,
    );
  }
  const loss = scenario('nodeLoss')?.nodeLoss;
  if (loss) {
    lines.push(
      `- **One node lost** (silently: no socket close, found by the alarm after the ${NODE_HEARTBEAT_TIMEOUT_MS / 1_000} s heartbeat timeout): its ${int(loss.roomsOnNode)} rooms moved after ${fixed(loss.waitMeanS, 1)} s on average; ${int(loss.stranded)} stranded, ${int(loss.refused)} joins refused — the reserve ${loss.reserveSufficed ? 'sufficed' : 'did **not** suffice'}. A crashed process is found sooner: its control socket closes.`,
    );
  }
  const region = scenario('regionLoss');
  if (region?.regionLoss) {
    const l = region.regionLoss;
    lines.push(
      `- **A region lost.** ${l.region}'s rooms went to ${Object.keys(l.openRoomsByRegion).join(', ')}; ${fixed(l.shortfallPct, 1)}% of its placements landed farther than 6,000 km or were refused (${int(l.missingNodesNearby)} nodes missing nearby). At the moment of loss every room asks to be placed at once: the busiest RegionDO took ${int(Math.max(...region.regions.map((r) => r.regionDo.peak10sPerSecond)))} requests/s over 10 s — at ~1,000/s the last room waits minutes, not seconds. A moved room arrives with all its people but is reserved as a new room (${PLAN.avgParticipants} people), so nodes that took many at once went to ${pct(Math.max(...region.regions.map((r) => r.load.highestEver)))} of their budget; place() could take the room's size.`,
    );
  }
  const flash = scenario('flashCrowd')?.flashCrowd;
  if (flash) {
    lines.push(
      `- **Flash crowd.** ${int(flash.joinsPerSecond)} joins/s on one link meet one RoomDO: ${fixed(flash.roomDoPeakPerSecond / DO_REQUESTS_PER_SECOND, 1)}× what it serves, so most joins fail as overload before the room can answer "full" (${int(flash.refused.DO_OVERLOADED ?? 0)} overloaded, ${int(flash.refused.MEETING_FULL ?? 0)} full, ${int(flash.admitted)} admitted). A full meeting has to be answered before its RoomDO (a cached "full" at the edge). A room of ${int(flash.admitted)} needs ${pct(flash.nodeUtilisation)} of a node${flash.nodeUtilisation > 1 ? `: no node can hold it, so overloaded nodes pass it on (${int(flash.timesShed)} times in the window) — a meeting that outgrows a node must span nodes` : ''}.`,
    );
  }
  return lines.join('\n');
}
