import { PLAN } from '../../schema/regions.js';
import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import { DO_REQUESTS_PER_SECOND } from './admission.js';
import type { DayResult } from './day-run.js';
import { fixed, int, pct, table } from './markdown.js';
import { REFUSALS } from './meters.js';
import { assumptions, findings } from './simulation-findings.js';
import type { Prepared } from './prepare.js';
import type { SimulationResult } from './result.js';
import type { ScenarioSummary } from './scenario-summary.js';
import type { RegionSummary } from './summary.js';

const SCENARIO_TITLES: Record<ScenarioSummary['name'], string> = {
  normal: 'Normal peak',
  nodeLoss: 'One node killed at peak (the busiest region, its most loaded node)',
  regionLoss: 'The busiest region lost at peak (its load goes to the nearest regions)',
  flashCrowd: 'Flash crowd: 10× the region’s joins on one meeting link for a minute',
};

const refusedText = (refused: Record<string, number>) =>
  REFUSALS.filter((reason) => (refused[reason] ?? 0) > 0).map((reason) => `${int(refused[reason]!)} ${reason}`).join(', ') || '0';

const reserveOk = (region: RegionSummary) => region.joins.refused.NO_MEDIA_CAPACITY === 0 && region.rooms.stranded === 0 && region.rooms.elsewhere === 0;

function regionTable(regions: readonly RegionSummary[]): string {
  return table(
    ['region', 'nodes', 'joins', 'placed', 'refused (reason)', 'rooms moved (node lost)', 'wait mean / max s', 'rooms shed (overload)', 'load mean / max', 'max÷mean', 'highest node', 'registry req/s, all shards (10 s)', 'busiest shard req/s (10 s) of shards', 'reserve sufficed'],
    regions.map((r) => [
      r.region,
      int(r.nodes),
      int(r.joins.attempts),
      int(r.joins.placed),
      refusedText(r.joins.refused),
      int(r.rooms.moved),
      r.rooms.moved ? `${fixed(r.rooms.waitMeanS, 1)} / ${fixed(r.rooms.waitMaxS, 1)}` : '–',
      int(r.rooms.shed),
      `${fixed(r.load.mean)} / ${fixed(r.load.max)}`,
      fixed(r.load.maxOverMean),
      fixed(r.load.highestEver),
      int(r.regionDo.peak10sPerSecond),
      shardCell(r),
      reserveOk(r) ? 'yes' : 'no',
    ]),
  );
}

const shardCell = (r: RegionSummary) => `${int(r.regionDo.busiestShard10sPerSecond)} of ${r.regionDo.shards}`;

function doBreakdown(region: RegionSummary): string {
  const m = region.regionDo.busiestMinute;
  return `heartbeats ${int(m.heartbeat)}/s, placements ${int(m.place)}/s, releases ${int(m.release)}/s, node events ${int(m.nodeEvent)}/s, alarm ${int(m.alarm)}/s`;
}

function scenarioSection(s: ScenarioSummary, busiest: number): string {
  const lines = [`### ${SCENARIO_TITLES[s.name]}`, '', `Window ${s.window.fromUtc}–${s.window.toUtc} UTC (fault at ${s.window.faultUtc}); counts from ${s.name === 'normal' ? 'the start' : 'the fault'}, at full size.`, ''];
  lines.push(regionTable(s.regions), '');
  const hot = s.regions[busiest]!;
  const top = s.regions.reduce((a, b) => (b.regionDo.busiestShard10sPerSecond > a.regionDo.busiestShard10sPerSecond ? b : a));
  lines.push(
    `Busiest registry shard (one RegionDO): ${top.region}'s, ${int(top.regionDo.busiestShard10sPerSecond)} req/s over its busiest 10 s (${pct(top.regionDo.busiestShard10sPerSecond / DO_REQUESTS_PER_SECOND)} of ~1,000/s). ${hot.region}'s registry, all ${hot.regionDo.shards} shards together, in its busiest minute: ${doBreakdown(hot)}.`,
  );
  if (s.nodeLoss) {
    const n = s.nodeLoss;
    lines.push(
      '',
      `Killed ${n.node} with ${int(n.roomsOnNode)} rooms: ${int(n.moved)} moved after ${fixed(n.waitMeanS, 1)} s on average (at most ${fixed(n.waitMaxS, 1)} s: heartbeat timeout + alarm + the paced moves), ${int(n.stranded)} stranded, ${int(n.refused)} joins refused for capacity. Reserve sufficed: **${n.reserveSufficed ? 'yes' : 'no'}**.`,
    );
  }
  if (s.regionLoss) {
    const l = s.regionLoss;
    const where = Object.entries(l.openRoomsByRegion).map(([region, rooms]) => `${region} ${int(rooms!)}`).join(', ');
    lines.push(
      '',
      `${l.region}'s clients needed ${int(l.roomsRehomed)} placements after the loss; open rooms of ${l.region} clients at the end by region: ${where}. Placed farther than 6,000 km: ${int(l.roomsFar)}; refused for capacity: ${int(l.refusedNoCapacity)}. **Shortfall ${fixed(l.shortfallPct, 1)}%** of those placements; missing capacity nearby: ${int(l.missingNodesNearby)} nodes.`,
    );
  }
  if (s.flashCrowd) {
    const f = s.flashCrowd;
    lines.push(
      '',
      `One link received ${int(f.joinsPerSecond)} joins/s (${int(f.attempts)} in all): ${int(f.admitted)} admitted, refused: ${refusedText(f.refused as Record<string, number>)}${f.edgeFullCache ? ` (${int(f.cachedFull)} of them from the edge's cached "full", never reaching the RoomDO)` : ''}. Its RoomDO was offered ${int(f.roomDoPeakPerSecond)} req/s in its busiest second and ${int(f.roomDoPeak10sPerSecond)} req/s over its busiest 10 s (${pct(f.roomDoPeak10sPerSecond / DO_REQUESTS_PER_SECOND)} of the ~1,000/s one object serves). The room needs ${pct(f.nodeUtilisation)} of one node's consumer budget; overloaded nodes handed it on ${int(f.timesShed)} times in the window.`,
    );
  }
  return lines.join('\n');
}

function dayTable(day: Omit<DayResult, 'series'>): string {
  return table(
    ['region', 'nodes', 'joins in the day', 'refused', 'load mean / max at its peak', 'max÷mean', 'highest node', 'registry req/s, all shards (10 s)', 'busiest shard req/s (10 s) of shards', 'busiest minute, all shards'],
    day.regions.map((r) => [
      r.region,
      int(r.nodes),
      int(r.joins.attempts),
      refusedText(r.joins.refused),
      `${fixed(r.load.mean)} / ${fixed(r.load.max)}`,
      fixed(r.load.maxOverMean),
      fixed(r.load.highestEver),
      int(r.regionDo.peak10sPerSecond),
      shardCell(r),
      doBreakdown(r),
    ]),
  );
}

export function simulationDoc(result: SimulationResult, prep: Prepared, charts: { day: string; regionDo: string; peak: string }): string {
  const { headline: h, run, day } = result;
  const busiest = prep.busiest.region;
  const goal = (ok: boolean) => (ok ? 'met' : '**not met**');
  return [
    '# Peak-day simulation',
    '',
    `Generated by \`npm run simulate\` (seed ${run.seed}; peak scenarios at ${run.scale === 1 ? 'full size' : `scale ${fixed(run.scale, 3)}`}, the day at scale ${run.dayScale}; ${fixed(h.wallSeconds, 0)} s wall, ${fixed(run.cpuSeconds, 0)} s CPU). Do not edit by hand.`,
    '',
    `A discrete-event simulation in virtual time (100 ms slots, deterministic per seed) of the day the capacity plan describes. Joins are routed by the real region choice (\`edge/registry/region-choice.ts\` \`regionsByDistance\`); rooms are placed by the real placement (\`edge/registry/placement.ts\` \`placeMeeting\`: the least-loaded node, counting \`edge/registry/reservations.ts\` reservations for rooms still filling and a moved room at its size), overloaded nodes shed rooms by its \`isOverloaded\`/\`roomsToShed\`, and the alarm writes off \`staleNodes\` as \`edge/registry/liveness.ts\` \`judgeSilence\` decides (a heartbeat every ${NODE_HEARTBEAT_INTERVAL_MS / 1_000} s, the ${NODE_HEARTBEAT_TIMEOUT_MS / 1_000} s timeout); \`scripts/sim/registry.ts\` keeps only the bookkeeping the RegionDO does in SQL. Admission is the room's own \`seatRefusal\` (\`edge/room/seat-rules.ts\`, which \`edge/room/admission.ts\` asks). Nodes report load as the capacity model says (\`docs/capacity.md\`). Counts and rates are given at full size (divided by the scale); a node, a room and the flash crowd's link are full size at any scale; a registry shard holds about as many nodes as at full size, and its rates are given for a full-size shard.`,
    '',
    assumptions(),
    '',
    findings(result, prep),
    '',
    '## Headline (`bench-results/simulation.json`)',
    '',
    table(
      ['figure', 'value', 'goal'],
      [
        ['peak joins/s (busiest minute, world)', int(h.peakJoinsPerSec), `plan ~${int(PLAN.peakJoinsPerSecond)}`],
        ['concurrent rooms at the world peak', int(h.concurrentRoomsPeak), `plan ~${int(PLAN.concurrentRooms)} (a daily mean: see below)`],
        ['node load max ÷ mean (worst region at its peak)', fixed(h.maxOverMeanLoad, 3), `≤ 1.2: ${goal(h.maxOverMeanLoad <= 1.2)}`],
        [
          'busiest Durable Object ÷ ~1,000 req/s (all scenarios)',
          fixed(h.maxDoUtilisation, 2),
          `≤ 0.5: ${goal(h.maxDoUtilisation <= 0.5)} **with registry shards** (the code's \`REGISTRY_SHARDS\`, unset by default), with one RegionDO per region (REGISTRY_SHARDS unset): ${fixed(run.doUtilisationCodeToday.regionDo, 1)}×`,
        ],
        ['joins refused with one node lost', int(h.refusedJoinsNodeLoss), `0: ${goal(h.refusedJoinsNodeLoss === 0)}`],
        ['region loss: placements beyond 6,000 km or refused', `${fixed(h.regionLossShortfallPct, 1)}%`, 'says how much is missing'],
      ],
    ),
    '',
    '## Demand and fleet',
    '',
    `Meetings: ${int(prep.model.meetingsPerDay)} a day split by the regions' shares, ${prep.model.minParticipants} + Poisson(${prep.model.meanParticipants - prep.model.minParticipants}) people (mean ${prep.model.meanParticipants}), lognormal length with mean ${prep.model.meanMinutes} min (σ ${prep.model.durationSigma}), arriving by local time of day; the host arrives ${prep.model.hostDelayMeanS} s and the others ${prep.model.joinDelayMeanS} s after the start on average. ${pct(prep.model.scheduledShare, 1)} of meetings start on :00/:30 — calibrated so the world's busiest minute has the plan's ${int(PLAN.peakJoinsPerSecond)} joins/s. The plan's ~${int(PLAN.concurrentRooms)} concurrent rooms is the day's mean (${int(prep.model.meetingsPerDay)} × ${prep.model.meanMinutes} min ÷ 1,440 min); by local time of day the world peaks at ${int(day.concurrentRoomsPeak)} rooms and each region at its own hour, so the fleet is sized for each region's own peak.`,
    '',
    `Fleet: ${int(run.fleetNodes)} media nodes at full size; a node's budget is ${int(run.nodeBudgetConsumers)} consumers (binding: ${run.binding}); consumers per core: ${run.consumersPerCore.value} — ${run.consumersPerCore.source}. ${run.scale < 1 ? `The peak scenarios run at scale ${fixed(run.scale, 3)} (fewer meetings and proportionally fewer nodes): placement scans every node of a shard for every room, as the RegionDO does, so the simulation's own cost grows with nodes × rooms.` : ''}`,
    '',
    '## The day',
    '',
    `Every region over 24 h (UTC) at scale ${run.dayScale}. World joins peak at ${int(day.peakJoinsPerSecond)}/s (${fixed(day.peakJoinsMinute / 60, 1)} h UTC); rooms at ${int(day.concurrentRoomsPeak)} (${fixed(day.concurrentRoomsMinute / 60, 1)} h UTC). The busiest RoomDO of ordinary meetings took ${int(day.roomDoPeak)} requests in one second.`,
    '',
    `![mean node load by region over the day](${charts.day})`,
    '',
    `![requests per second to one registry shard over the day](${charts.regionDo})`,
    '',
    dayTable(day),
    '',
    `## At the busiest region's peak (${run.busiestRegion}, ${run.faultUtc} UTC)`,
    '',
    `![${run.busiestRegion} node load around its peak, by scenario](${charts.peak})`,
    '',
    ...result.scenarios.map((scenario) => scenarioSection(scenario, busiest) + '\n'),
  ].join('\n');
}
