/**
 * Peak-day simulation of the plan at full size (docs/simulation.md):
 *   npm run simulate                       the day at 1:25 (scale 0.04), the busiest region's peak (scaled to --max-nodes)
 *   npm run simulate -- --quick            a small scale for a quick look (tests use scripts/sim directly)
 * Options: --seed N, --scale S (peak scenarios; default 1, or less when the fleet exceeds
 * --max-nodes, default 4,000: placement scans every node of a registry shard per room, so the
 * run's cost grows with nodes × rooms), --day-scale S (default 0.04), --consumers-per-core N (instead of bench-results or
 * the guidance), --no-docs. Writes bench-results/simulation.json (+ simulation-detail.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { renderSvg } from './sim/charts.js';
import { runDay } from './sim/day-run.js';
import { loadMediaFigures } from './sim/measured.js';
import { FULL_PEAK, regionName, runPeakScenarios, SCENARIOS, type PeakOptions } from './sim/peak-run.js';
import { fleetSize, prepare } from './sim/prepare.js';
import { doUtilisationCodeToday, headline, peakPoints, type PeakPoint, type SimulationResult } from './sim/result.js';
import { summariseScenario, type ScenarioSummary } from './sim/scenario-summary.js';
import { dayLoadChart, dayRegionDoChart, peakLoadChart } from './sim/simulation-charts.js';
import { simulationDoc } from './sim/simulation-doc.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const argsSchema = z.object({
  quick: z.boolean().default(false),
  seed: z.coerce.number().int().default(1),
  scale: z.coerce.number().positive().max(1).optional(),
  'day-scale': z.coerce.number().positive().max(1).optional(),
  'max-nodes': z.coerce.number().int().positive().default(4_000),
  'consumers-per-core': z.coerce.number().positive().optional(),
  docs: z.boolean().default(true),
});

function parseArgs(argv: string[]): z.infer<typeof argsSchema> {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '');
    if (name === 'quick') raw.quick = true;
    else if (name === 'no-docs') raw.docs = false;
    else raw[name] = argv[++i] ?? '';
  }
  return argsSchema.strict().parse(raw);
}

const QUICK_PEAK: Omit<PeakOptions, 'seed' | 'scale'> = { ...FULL_PEAK, beforeMinutes: 10, afterMinutes: 10, flashSeconds: 20 };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const say = (text: string) => console.error(`[simulate ${((performance.now() - started) / 1_000).toFixed(1)} s] ${text}`);
  const figures = loadMediaFigures(`${root}bench-results`);
  if (args['consumers-per-core']) figures.consumersPerCore = { value: args['consumers-per-core'], source: 'given on the command line (--consumers-per-core)' };
  const prep = prepare(figures);
  const fleetNodes = fleetSize(prep.fleet);
  const scale = args.scale ?? (args.quick ? 0.01 : Math.min(1, args['max-nodes'] / fleetNodes));
  const dayScale = args['day-scale'] ?? (args.quick ? 0.004 : 0.04);
  say(`fleet ${fleetNodes} nodes (${figures.consumersPerCore.source}); peak at scale ${scale.toFixed(3)}, day at ${dayScale}`);

  const daySeries = runDay(prep, args.seed, dayScale);
  const { series, ...day } = daySeries;
  say(`day: ${Math.round(day.peakJoinsPerSecond)} joins/s at the busiest minute, ${Math.round(day.concurrentRoomsPeak)} rooms at the peak`);

  const summaries: ScenarioSummary[] = [];
  const points: PeakPoint[] = [];
  const peakOptions = { seed: args.seed, scale, ...(args.quick ? QUICK_PEAK : FULL_PEAK) };
  let faultUtc = '';
  runPeakScenarios(prep, peakOptions, (run) => {
    const summary = summariseScenario(run, prep.fleet.budget.consumers);
    summaries.push(summary);
    points.push(...peakPoints(run, prep.busiest.region));
    faultUtc = summary.window.faultUtc;
    say(`${run.name}: done`);
  });
  summaries.sort((a, b) => SCENARIOS.indexOf(a.name) - SCENARIOS.indexOf(b.name));

  const result: SimulationResult = {
    headline: headline((performance.now() - started) / 1_000, day, summaries, prep.busiest.region),
    run: {
      seed: args.seed,
      cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      scale,
      dayScale,
      fleetNodes,
      consumersPerCore: figures.consumersPerCore,
      rssPerParticipantKb: figures.rssPerParticipantKb,
      nodeBudgetConsumers: prep.fleet.budget.consumers,
      binding: prep.fleet.budget.binding,
      scheduledShare: prep.model.scheduledShare,
      busiestRegion: regionName(prep.busiest.region),
      faultUtc,
      doUtilisationCodeToday: doUtilisationCodeToday(day, summaries),
    },
    day,
    scenarios: summaries,
  };
  mkdirSync(`${root}bench-results`, { recursive: true });
  writeFileSync(`${root}bench-results/simulation.json`, `${JSON.stringify(result.headline, null, 2)}\n`);
  writeFileSync(`${root}bench-results/simulation-detail.json`, `${JSON.stringify(result, null, 2)}\n`);
  if (args.docs) {
    const charts = { day: 'simulation-day-load.svg', regionDo: 'simulation-day-regiondo.svg', peak: 'simulation-peak-load.svg' };
    writeFileSync(`${root}docs/${charts.day}`, await renderSvg(dayLoadChart(series)));
    writeFileSync(`${root}docs/${charts.regionDo}`, await renderSvg(dayRegionDoChart(series)));
    writeFileSync(`${root}docs/${charts.peak}`, await renderSvg(peakLoadChart(points, regionName(prep.busiest.region), prep.busiest.peakMinute)));
    writeFileSync(`${root}docs/simulation.md`, simulationDoc(result, prep, charts));
  }
  console.log(JSON.stringify(result.headline, null, 2));
  say('wrote bench-results/simulation.json' + (args.docs ? ' and docs/simulation.md' : ''));
}

await main();
