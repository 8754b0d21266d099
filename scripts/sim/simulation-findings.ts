import { PLAN } from '../../schema/regions.js';
import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import { MOVES_PER_SHARD_PER_SECOND, NODES_PER_REGISTRY_SHARD } from '../../edge/registry/shards.js';
import { FULL_CACHE } from './full-cache.js';
import { POLICY } from './registry.js';
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
    lines.push(
      `- **Registry load.** ${hot.region}'s registry takes ${int(hot.regionDo.peak10sPerSecond)} requests/s at its peak (${fixed(hot.regionDo.peak10sPerSecond / DO_REQUESTS_PER_SECOND, 1)}× the ~1,000/s one object serves): heartbeats one per node every ${NODE_HEARTBEAT_INTERVAL_MS / 1_000} s (${int(m.heartbeat)}/s for ${int(hot.nodes)} nodes), node events ${int(m.nodeEvent)}/s (a participantLeft per person and a roomClosed per room), placements ${int(m.place)}/s. Split over ${hot.regionDo.shards} shards of ~${NODES_PER_REGISTRY_SHARD} nodes (\`edge/registry/shards.ts\`), its busiest shard takes ${int(hot.regionDo.busiestShard10sPerSecond)}/s (${pct(hot.regionDo.busiestShard10sPerSecond / DO_REQUESTS_PER_SECOND)} of one object), and placement scores a shard's nodes, not the region's.`,
      `- **Balance.** At ${hot.region}'s peak the most loaded node carries ${fixed(hot.load.maxOverMean, 2)}× the mean (mean ${pct(hot.load.mean)}); the highest any node reached was ${pct(hot.load.highestEver)} of its budget; overloaded nodes shed ${int(hot.rooms.shed)} rooms in ${region75(normal)}. A new room is reserved at ${PLAN.avgParticipants} people for ${fixed(POLICY.reservationMs / 60_000, 0)} min while it fills, not only until the node's next heartbeat reports it with its first people (\`edge/registry/reservations.ts\`), so the emptiest-looking node no longer takes every new room.`,
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
    const lost = region.regions.find((r) => r.region === l.region)!;
    const top = region.regions.reduce((a, b) => (b.regionDo.busiestShard10sPerSecond > a.regionDo.busiestShard10sPerSecond ? b : a));
    lines.push(
      `- **A region lost.** ${l.region}'s rooms went to ${Object.keys(l.openRoomsByRegion).join(', ')}; ${fixed(l.shortfallPct, 1)}% of its placements landed farther than 6,000 km or were refused (${int(l.missingNodesNearby)} nodes missing nearby). Each shard tells its rooms to move at ${MOVES_PER_SHARD_PER_SECOND}/s, so the rooms waited ${fixed(lost.rooms.waitMeanS, 0)} s on average and ${fixed(lost.rooms.waitMaxS, 0)} s at most for media, and the busiest shard (${top.region}'s) took ${int(top.regionDo.busiestShard10sPerSecond)} requests/s over 10 s; all at once they would ask ~${int(lost.rooms.moved / 10)}/s of the neighbours' registries. A moved room is reserved at its size until its new node reports it, so nodes that took many at once stayed at ${pct(Math.max(...region.regions.map((r) => r.load.highestEver)))} of their budget at most — and the rooms the neighbours cannot hold within the placement limit go farther (reserved as new 10-person rooms, as they were before, they were packed onto the neighbours past their nodes' budgets, which hid this shortfall).`,
    );
  }
  const flash = scenario('flashCrowd')?.flashCrowd;
  if (flash) {
    lines.push(
      `- **Flash crowd.** ${int(flash.joinsPerSecond)} joins/s on one link: ${int(flash.admitted)} admitted, ${int(flash.refused.MEETING_FULL ?? 0)} refused as full${flash.edgeFullCache ? `, ${int(flash.cachedFull)} of them by the edge from a cached "full" (per location, ${FULL_CACHE.ttlMs / 1_000} s, visible ${FULL_CACHE.visibleAfterMs} ms after the room's answer, as the code does)` : ''}, ${int(flash.refused.DO_OVERLOADED ?? 0)} refused as overload. The RoomDO was offered ${int(flash.roomDoPeakPerSecond)} requests in its busiest second (the seats going, and each location's requests until its cached "full" shows) and ${int(flash.roomDoPeak10sPerSecond)}/s over its busiest 10 s. A room of ${int(flash.admitted)} needs ${pct(flash.nodeUtilisation)} of a node${flash.nodeUtilisation > 1 ? `: no node can hold it, so overloaded nodes pass it on (${int(flash.timesShed)} times in the window) — a meeting that outgrows a node must span nodes` : ''}.`,
    );
  }
  return lines.join('\n');
}

/** What the simulation runs that the code does not (yet), and what it leaves out. */
export function assumptions(): string {
  return [
    '## What the simulation assumes that the code does not do',
    '',
    `- **Registry shards.** The simulation splits each region's registry over \`registryShards(nodes)\` RegionDOs of ~${NODES_PER_REGISTRY_SHARD} nodes (\`edge/registry/shards.ts\`: a node reports to the shard of its number, a meeting asks the shard of its id hash, then the next, then the next region). The code does the same **when \`REGISTRY_SHARDS\` is set** (\`edge/config.ts\`; \`plan\` gives each media region \`registryShards\` of its capacity-plan nodes): \`regionStub(env, region, shard)\`, the node route, the room's placement loop and the fleet API over all shards. Unset — the default, and \`wrangler.toml\` does not set it yet — each region has one RegionDO, and the busiest one takes the "all shards" figures below (several times its limit).`,
    `- **The flash crowd, answered at the edge.** The join route answers MEETING_FULL from a per-location cache for ${FULL_CACHE.ttlMs / 1_000} s after the room said so (\`edge/routes/full-meeting-cache.ts\`, modelled in \`scripts/sim/full-cache.ts\` over ${FULL_CACHE.locations} locations, the write visible after ${FULL_CACHE.visibleAfterMs} ms), to everyone but the meeting's host (the one joiner a full meeting lets in; the room's answer names them), guests and signed-in people alike.`,
    `- **In the code and the simulation alike:** reservations for young rooms and moved rooms at their size (\`placement.ts\` placeMeeting, \`reservations.ts\`; the RegionDO keeps them in SQLite; the room passes its participant count to \`place\`); rooms told to move at ${MOVES_PER_SHARD_PER_SECOND}/s per registry, the first second's worth at once (\`room-moves.ts\` paceNotice; the RegionDO queues the rest for its alarm); the alarm's silence rule (\`liveness.ts\`); heartbeats every second; node events one request each.`,
    '- **Left out:** admission varies only what a peak day varies — capacity and the host, by the room\'s own `seatRefusal` (`edge/room/seat-rules.ts`); no meeting is locked and no passcode or ban is tried; one alarm per region (each shard would have its own); a meeting spanning nodes (cascading) is not simulated; Durable Objects are modelled only by their request rates (the busiest 10 s), not their latency.',
  ].join('\n');
}
