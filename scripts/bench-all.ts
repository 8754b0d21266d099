/**
 * `npm run bench [-- --report-only] [-- --only fanout,chat] [-- --quick]`
 * Runs every benchmark of issue 15 that exists, one after another (each in its own process,
 * each with a time limit; ≤ 15 min on 2 cores in all), then regenerates docs/benchmarks.md and
 * its charts from bench-results/ — including the failover, recording, webinar and fuzz results
 * other benchmarks wrote. `--report-only` skips the runs; a failed run leaves the page showing
 * the previous result (or "not measured").
 */
import { parseArgs } from 'node:util';
import { writeReport } from './bench/report.js';
import { runStep, type BenchStep, type StepOutcome } from './bench/runner.js';

const { values: args } = parseArgs({
  options: { 'report-only': { type: 'boolean', default: false }, only: { type: 'string' }, quick: { type: 'boolean', default: false } },
});

const MIN = 60_000;
/**
 * Default sizes chosen so the whole run stays under 15 minutes on 2 cores; --quick is a smoke run
 * of every harness at tiny sizes that writes nothing (the page keeps the real figures).
 */
const QUICK: BenchStep[] = [
  { name: 'fanout', args: ['--subscribers', '4', '--publishers', '2', '--seconds', '4', '--rounds', '1'], timeoutMs: 2 * MIN },
  { name: 'join', args: ['--meetings', '20', '--per-meeting', '3'], timeoutMs: 2 * MIN },
  { name: 'ttff', args: ['--rounds', '2'], timeoutMs: 3 * MIN },
  { name: 'chat', args: ['--sockets', '20', '--seconds', '2', '--rounds', '1'], timeoutMs: 2 * MIN },
  { name: 'memory', args: ['--participants', '8', '--guests', '40'], timeoutMs: 2 * MIN },
];
const FULL: BenchStep[] = [
  { name: 'fanout', args: [], timeoutMs: 6 * MIN },
  { name: 'join', args: [], timeoutMs: 2 * MIN },
  { name: 'ttff', args: [], timeoutMs: 5 * MIN },
  { name: 'chat', args: [], timeoutMs: 2 * MIN },
  { name: 'memory', args: [], timeoutMs: 3 * MIN },
];
const STEPS = args.quick ? QUICK.map((step) => ({ ...step, args: [...step.args, '--no-write'] })) : FULL;

const only = args.only?.split(',').map((name) => name.trim());
const outcomes: StepOutcome[] = [];
if (!args['report-only']) {
  for (const step of STEPS.filter((s) => !only || only.includes(s.name))) {
    console.log(`\n── bench:${step.name} ${step.args.join(' ')}`);
    outcomes.push(await runStep(step));
  }
}
const { charts } = await writeReport();
console.log('\n── summary');
for (const outcome of outcomes) console.log(`bench:${outcome.name.padEnd(8)} ${outcome.status.padEnd(9)} ${outcome.seconds.toFixed(0)} s`);
console.log(`docs/benchmarks.md written (charts: ${charts.join(', ') || 'none'})`);
process.exitCode = outcomes.some((outcome) => outcome.status === 'failed' || outcome.status === 'timed out') ? 1 : 0;
