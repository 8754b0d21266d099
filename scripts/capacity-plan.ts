/**
 * Capacity planner (docs/capacity.md): the plan's bandwidth sizing reproduced, whether the CPU
 * per consumer allows it, and media nodes per region from whichever resource binds first —
 * measured figures (bench-results/fanout.json, memory.json) when present, else guidance.
 *   npm run capacity                              print, and write docs/capacity.md + its chart
 *   npm run capacity -- --db                      also measure bytes per history row in Postgres
 * Options: --consumers-per-core N, --nic-gbps N, --no-docs. --db uses DATABASE_URL's server, else
 * the dev cluster (scripts/postgres.sh), in a scratch database it drops afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_NODE } from './sim/capacity-model.js';
import { capacityDoc } from './sim/capacity-doc.js';
import { capacityReport } from './sim/capacity-report.js';
import { groupedBars, renderSvg } from './sim/charts.js';
import { planFleet } from './sim/fleet.js';
import { measureRowSizes, rowSizesSchema, type RowSizes } from './sim/history-size.js';
import { loadMediaFigures } from './sim/measured.js';
import { prepare } from './sim/prepare.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ROW_SIZES = `${root}bench-results/history-row-sizes.json`;

const args = z
  .object({ db: z.boolean(), docs: z.boolean(), consumersPerCore: z.coerce.number().positive().optional(), nicGbps: z.coerce.number().positive().optional() })
  .parse({
    db: process.argv.includes('--db'),
    docs: !process.argv.includes('--no-docs'),
    consumersPerCore: valueOf('--consumers-per-core'),
    nicGbps: valueOf('--nic-gbps'),
  });

function valueOf(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** The Postgres server to measure in: DATABASE_URL's, else the dev cluster's (started if needed). */
function serverUrl(): string {
  let url = process.env.DATABASE_URL;
  if (!url) {
    const printed = execFileSync('bash', [`${root}scripts/postgres.sh`, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    url = /DATABASE_URL=(\S+)/.exec(printed)?.[1];
    if (!url) throw new Error(`postgres.sh printed no DATABASE_URL: ${printed}`);
  }
  const server = new URL(url);
  server.pathname = '/postgres';
  return server.toString();
}

const figures = loadMediaFigures(`${root}bench-results`);
if (args.consumersPerCore) figures.consumersPerCore = { value: args.consumersPerCore, source: 'given on the command line (--consumers-per-core)' };
const prep = prepare(figures);
const spec = { ...DEFAULT_NODE, ...(args.nicGbps ? { nicGbps: args.nicGbps } : {}) };
const fleet = planFleet(prep.curves, prep.model, figures, 1, spec);
const report = capacityReport(prep, fleet);

console.log(`The plan's bandwidth sizing: ${report.plan.baseline} baseline + ${report.plan.reserve} reserve = ${report.plan.baseline + report.plan.reserve} hosts`);
console.table(report.plan.rows.map((row) => ({ region: row.region, 'media Gbit/s': Math.round(row.gbps), baseline: row.baseline, reserve: row.reserve })));
const cpu = report.cpuAtFigure;
console.log(
  `CPU check: ${Math.round(cpu.consumers).toLocaleString('en')} consumers at the plan's peak need ${Math.round(cpu.coresNeeded).toLocaleString('en')} cores = ${cpu.hostsNeeded} hosts ` +
    `at ${figures.consumersPerCore.value} consumers/core (${figures.consumersPerCore.source}); the plan has ${cpu.hostsPlanned}: ${cpu.allows ? 'enough' : 'NOT enough'}`,
);
console.log(`Node budget: ${JSON.stringify(Object.fromEntries(Object.entries(fleet.budget.byResource).map(([k, v]) => [k, Math.round(v)])))} consumers; ${fleet.budget.binding} binds`);
console.table(
  report.regions.map((r) => ({ region: r.region, 'peak rooms': Math.round(r.peakRooms), cpu: r.nodesBy.cpu, bandwidth: r.nodesBy.bandwidth, memory: r.nodesBy.memory, binds: r.binding, baseline: r.baseline, reserve: r.reserve })),
);
console.log(`total media nodes: ${report.totals.baseline} baseline + ${report.totals.reserve} reserve = ${report.totals.baseline + report.totals.reserve}`);

let sizes: RowSizes | null = null;
if (args.db) {
  console.error('measuring bytes per history row (a sample day through the queue writer)…');
  sizes = await measureRowSizes(serverUrl(), 2_000);
  mkdirSync(`${root}bench-results`, { recursive: true });
  writeFileSync(ROW_SIZES, `${JSON.stringify(sizes, null, 2)}\n`);
} else if (existsSync(ROW_SIZES)) {
  sizes = rowSizesSchema.parse(JSON.parse(readFileSync(ROW_SIZES, 'utf8')));
}
if (sizes) console.table(Object.fromEntries(Object.entries(sizes.tables).map(([name, t]) => [name, { rows: t.rows, 'bytes/row': Math.round(t.bytesPerRow) }])));

if (args.docs) {
  const chart = 'capacity-nodes.svg';
  const rows = report.regions.flatMap((r) => (['cpu', 'bandwidth', 'memory'] as const).map((resource) => ({ region: r.region, nodes: r.nodesBy[resource], resource })));
  writeFileSync(`${root}docs/${chart}`, await renderSvg(groupedBars({ title: 'Media nodes each region needs at its peak, by resource (the largest binds)', rows, category: 'region', value: 'nodes', valueTitle: 'nodes', series: 'resource' })));
  writeFileSync(`${root}docs/capacity.md`, capacityDoc(prep, fleet, report, sizes, chart));
  console.error('wrote docs/capacity.md and docs/capacity-nodes.svg');
}
