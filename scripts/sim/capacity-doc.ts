import { consumersPerRoom, PLAN } from '../../schema/regions.js';
import type { CapacityReport } from './capacity-report.js';
import { PLAN_BANDWIDTH, PLANNED } from './capacity-report.js';
import type { Fleet } from './fleet.js';
import { GUIDANCE } from './measured.js';
import type { RowSizes } from './history-size.js';
import { fixed, int, pct, table } from './markdown.js';
import type { Prepared } from './prepare.js';

/** The plan's own storage estimates per day (the figures the issue quotes). */
export const PLAN_HISTORY_GB_PER_DAY: Partial<Record<keyof RowSizes['tables'], number>> = { participants: 10.7, messages: 17 };

/** History rows a day at the plan's size: one per participant, a chat line each, 3 events each + 2 per meeting. */
export function rowsPerDay(prep: Prepared): Record<keyof RowSizes['tables'], number> {
  const participants = prep.model.meetingsPerDay * prep.model.meanParticipants;
  const messages = participants * prep.model.chatPerParticipant;
  return { participants, messages, analytics_events: participants * 2 + messages + prep.model.meetingsPerDay * 2 };
}

function schemaSection(prep: Prepared, sizes: RowSizes | null): string {
  const perDay = rowsPerDay(prep);
  const lines = [
    '## 4. Physical schema of the history',
    '',
    '`messages` (by `sent_at`) and `analytics_events` (by `at`) are range-partitioned by UTC day (`schema/db/migrations/0001_history_partitions.sql`): one partition per day (`messages_p20261202`) plus a default partition for stragglers. `select * from history_maintain(retain_days => 30, ahead_days => 7)`, run daily, creates the coming days (moving any strays out of the default partition), drops the days past retention (a `DROP TABLE`, no vacuum debt) and deletes expired rows from the default partitions and, in batches of 10,000, from `participants`. Unique keys include the day column, as Postgres requires; the writer\'s `on conflict do nothing` still drops a redelivered record (same key, same time).',
    '',
    'Indexes for the reads we make: a meeting\'s chat in order (`messages (meeting_id, sent_at)`), a meeting\'s events and events by time (`analytics_events (meeting_id, at)`, `(at)`), a meeting\'s participants (the unique `(meeting_id, participant_id)`), a user\'s meetings (`participants (user_id)`), and retention (`participants (coalesce(joined_at, left_at))`).',
    '',
    '`participants` is not partitioned yet: the writer upserts join and leave records into one row on `(meeting_id, participant_id)`, a key without a time column, and a leave record arriving first (the queue does not keep order) does not know the join time. Partitioning it by day needs the leave record to carry `joinedAt` (schema/wire/history.ts, filled by the room), the writer to upsert on `(meeting_id, participant_id, joined_at)`, and `joined_at` NOT NULL — then the same `PARTITION BY RANGE (joined_at)` as the others.',
    '',
  ];
  if (!sizes) {
    lines.push('Bytes per row: not measured yet — run `npm run capacity -- --db` (writes a sample day into the dev Postgres through the real writer).');
    return lines.join('\n');
  }
  lines.push(
    `Bytes per row, measured by writing ${int(sizes.meetings)} meetings of ${prep.model.meanParticipants} (a sample day) through the queue writer (\`edge/db/history-writer.ts\`) into Postgres ${sizes.postgres.split(' ')[0]}, then \`VACUUM ANALYZE\`; heap includes TOAST, both summed over the partitions holding rows:`,
    '',
    table(
      ['table', 'rows a day (plan size)', 'heap B/row', 'index B/row', 'total B/row', 'GB a day', 'plan GB a day', 'plan B/row implied'],
      (Object.keys(sizes.tables) as (keyof RowSizes['tables'])[]).map((name) => {
        const t = sizes.tables[name];
        const planGb = PLAN_HISTORY_GB_PER_DAY[name];
        return [
          `\`${name}\``,
          int(perDay[name]),
          int(t.heapBytes / t.rows),
          int(t.indexBytes / t.rows),
          int(t.bytesPerRow),
          fixed((t.bytesPerRow * perDay[name]) / 1e9, 1),
          planGb === undefined ? '–' : fixed(planGb, 1),
          planGb === undefined ? '–' : int((planGb * 1e9) / perDay[name]),
        ];
      }),
    ),
    '',
    `Rows a day: one per participant (${int(prep.model.meetingsPerDay)} meetings × ${prep.model.meanParticipants}), ${prep.model.chatPerParticipant} chat line per participant, and per participant a join, a leave and a message_sent event plus a start and an end per meeting. The indexes weigh about as much as the rows: messages and analytics events carry their 36-character idempotency key (a UUID) as \`varchar(128)\` in a unique index next to their primary key, so storing it as \`uuid\` (16 bytes), or using the message id as the key, would shrink both; participants carry four indexes (id, meeting + participant, user, retention).`,
  );
  return lines.join('\n');
}

export function capacityDoc(prep: Prepared, fleet: Fleet, report: CapacityReport, sizes: RowSizes | null, chart: string): string {
  const { plan, cpuAtFigure: cpu, cpuAtGuidance: guidance } = report;
  const budget = fleet.budget;
  return [
    '# Capacity',
    '',
    'Generated by `npm run capacity` (`scripts/capacity-plan.ts`, from `schema/regions.ts` and `scripts/sim/`); do not edit by hand. `docs/simulation.md` runs this fleet through a simulated day.',
    '',
    '## 1. The plan\'s own sizing, reproduced',
    '',
    `The plan sizes media by bandwidth: ${int(PLAN_BANDWIDTH.peakMediaGbps)} Gbit/s of media at peak, ${PLAN_BANDWIDTH.usableGbpsPerHost} Gbit/s usable per media host, each region's share of the peak in whole hosts, plus the reserve ceil(2N/(N+1)).`,
    '',
    table(
      ['region', 'share of peak', 'media Gbit/s', 'baseline hosts', 'reserve', 'hosts'],
      [
        ...plan.rows.map((row) => [row.region, pct(row.gbps / PLAN_BANDWIDTH.peakMediaGbps, 1), int(row.gbps), row.baseline, row.reserve, row.baseline + row.reserve]),
        ['**total**', '100%', int(PLAN_BANDWIDTH.peakMediaGbps), `**${plan.baseline}**`, `**${plan.reserve}**`, `**${plan.baseline + plan.reserve}**`],
      ],
    ),
    '',
    '## 2. Does the CPU per consumer allow it?',
    '',
    `At the plan's ${int(PLAN.concurrentRooms)} rooms of ${PLAN.avgParticipants}, everyone receiving everyone's audio and video (${consumersPerRoom()} consumers a room, as the media node does today), the media nodes forward ${int(cpu.consumers)} consumers. ${cpu.hostsPlanned} hosts of ${PLAN.coresPerMediaNode} cores would have to forward ${int(cpu.consumersPerCoreNeeded)} consumers per core. At ${int(prep.figures.consumersPerCore.value)} consumers per core (${prep.figures.consumersPerCore.source}) they need ${int(cpu.coresNeeded)} cores: **${int(cpu.hostsNeeded)} hosts, ${fixed(cpu.hostsNeeded / cpu.hostsPlanned, 0)}× the plan's ${cpu.hostsPlanned}**${prep.figures.consumersPerCore.value === GUIDANCE.consumersPerCore ? '' : ` (at mediasoup's guidance of ${GUIDANCE.consumersPerCore}: ${int(guidance.hostsNeeded)})`}. So **no**: the CPU per consumer does not allow the bandwidth plan; CPU binds first unless a node forwards ~${int(cpu.consumersPerCoreNeeded)} consumers per core.`,
    '',
    `The bandwidth itself: with the web client's simulcast layers (150/500/1,500 kbit/s up), one large stream and the rest as thumbnails down, and the loudest 3 audio streams, an average room (2 + Poisson(8) people) moves ${int(report.kbpsPerRoom.in)} kbit/s in and ${int(report.kbpsPerRoom.out)} kbit/s out; ${int(PLAN.concurrentRooms)} rooms make **${int(report.modelGbpsAtPlanRooms)} Gbit/s**, ${fixed(report.modelGbpsAtPlanRooms / PLAN_BANDWIDTH.peakMediaGbps, 1)}× the plan's ${int(PLAN_BANDWIDTH.peakMediaGbps)}.`,
    '',
    '## 3. Nodes per region, from whichever resource binds first',
    '',
    `A node: ${fleet.spec.cores} cores, ${fleet.spec.nicGbps} Gbit/s NIC (${pct(fleet.spec.nicUsable)} usable for media), ${fleet.spec.ramGb} GB RAM (${fleet.spec.ramReservedGb} GB kept for the system). In the average room's consumers it carries: CPU ${int(budget.byResource.cpu)} (${int(prep.figures.consumersPerCore.value)} per core — ${prep.figures.consumersPerCore.source}), bandwidth ${int(budget.byResource.bandwidth)}, memory ${int(budget.byResource.memory)} (${int(prep.figures.rssPerParticipantKb.value)} KB per participant — ${prep.figures.rssPerParticipantKb.source}). **${budget.binding} binds**; the node's consumer budget (its CONSUMERS_PER_WORKER × workers) is ${int(budget.consumers)}.`,
    '',
    `Demand: each region's own peak of concurrent rooms from the day model of \`docs/simulation.md\` (${int(prep.model.meetingsPerDay)} meetings a day by local time of day; the plan's per-region rooms, its share × ${int(PLAN.concurrentRooms)}, are a daily mean). Nodes are planned at ${pct(PLANNED)} of the binding resource at that peak (placement stops at 85%).`,
    '',
    table(
      ['region', 'plan rooms', 'peak rooms (UTC)', 'nodes by CPU', 'by bandwidth', 'by memory', 'binds', 'baseline', 'reserve', 'nodes'],
      [
        ...report.regions.map((r) => [r.region, int(r.planRooms), `${int(r.peakRooms)} (${r.peakUtc})`, int(r.nodesBy.cpu), int(r.nodesBy.bandwidth), int(r.nodesBy.memory), r.binding, int(r.baseline), r.reserve, int(r.baseline + r.reserve)]),
        ['**total**', int(PLAN.concurrentRooms), int(report.regions.reduce((n, r) => n + r.peakRooms, 0)), '', '', '', '', `**${int(report.totals.baseline)}**`, `**${report.totals.reserve}**`, `**${int(report.totals.baseline + report.totals.reserve)}**`],
      ],
    ),
    '',
    `![nodes per region by resource](${chart})`,
    '',
    schemaSection(prep, sizes),
    '',
  ].join('\n');
}
