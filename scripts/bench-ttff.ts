/**
 * `npm run bench:ttff [-- --rounds 10] [-- --no-write] [-- --marks | --diagnose] [-- --keep-data]`
 * Time to first frame (issue 15, P3): Chromium with fake devices, Join click → the first decoded
 * remote video frame, for the first guest after the host and for a later joiner, `rounds` fresh
 * meetings each, on the whole stack (dev-stack: wrangler dev, Postgres, one media node). The floor,
 * in the same run and alternating with it: a page connecting mediasoup-client straight to a bare
 * mediasoup worker (scripts/bench/ttff-floor.ts), timed the same way. Writes
 * bench-results/ttff.json { firstJoinerMedianMs, laterJoinerMedianMs, p95Ms (every product join),
 * floorMedianMs (every floor join) }.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from './chromium.js';
import { startStack } from './dev-stack.js';
import { writeResult } from './bench/results.js';
import { formatSpread, median, percentile, round, spread } from './bench/stats.js';
import { startTtffFloor } from './bench/ttff-floor.js';
import { startProductTtff, type JoinTiming } from './bench/ttff-run.js';
import { traceWorker } from './bench/worker-trace.js';
import { placementReport } from '../edge/web/test/stack-report.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    'no-write': { type: 'boolean', default: false },
    /** Print each join's page milestones (for finding where the time goes). */
    marks: { type: 'boolean', default: false },
    /** Also probe each join's video timeline and the host's layers (ttff-probe.ts), and trace the floor's worker (worker-trace.ts); implies --marks. */
    diagnose: { type: 'boolean', default: false },
    /** Keeps the stack's data directory (its logs: the media node's slow signaling requests, the edge's placements) and prints where. */
    'keep-data': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
/** A round that fails outright (e.g. the node written off while the box is starved) is run again, this often. */
const RETRIES = 2;

async function retried<T>(what: string, round: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await round();
    } catch (error) {
      if (attempt >= RETRIES) throw error;
      console.log(`  ${what} round failed (${String(error).split('\n')[0]!.slice(0, 160)}); running it again`);
      // Why the edge would not place it, when that is the failure: the nodes' exclusions and load.
      if (String(error).includes('No media server')) console.log(await placementReport(stack));
    }
  }
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-ttff-'));
const stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, turn: false, writeRootDevVars: false, log: (line) => console.log(`  [stack] ${line}`) });
const browser = await launchChromium();
const floor = await startTtffFloor();
const trace = args.diagnose ? traceWorker(floor.sfu.worker) : null;
const product = { first: [] as number[], later: [] as number[] };
const floors = { first: [] as number[], later: [] as number[] };
const show = (label: string, timing: JoinTiming) =>
  console.log(`  ${label.padEnd(13)} ${timing.ms.toFixed(0).padStart(5)} ms${args.marks || args.diagnose ? `  ${JSON.stringify(timing.marks)}` : ''}${timing.probe ? `\n    ${JSON.stringify(timing.probe)}` : ''}`);
try {
  const host = await startProductTtff(browser, stack.edgeUrl, { diagnose: args.diagnose });
  console.log(`ttff: ${ROUNDS} rounds (fresh meeting each: host, first guest, later guest; floor likewise); ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1}`);
    const runProduct = async () => {
      const { first, later } = await retried('product', () => host.round());
      product.first.push(first.ms);
      product.later.push(later.ms);
      show('first guest', first);
      show('later guest', later);
    };
    const runFloor = async () => {
      const { firstMs, laterMs, firstMarks, laterMarks, playing } = await retried('floor', () => {
        trace?.reset();
        return floor.round(browser, `ttff-${r}-${Date.now()}`, 0);
      });
      floors.first.push(firstMs);
      floors.later.push(laterMs);
      show('floor first', { ms: firstMs, marks: firstMarks });
      show('floor later', { ms: laterMs, marks: laterMarks });
      // Pages that never played everyone did less than the product's (the figures stand, but say so).
      if (playing.some(({ videos, voices }) => videos < 3 || voices < 2)) console.log(`    floor pages played ${playing.map(({ videos, voices }) => `${videos} videos, ${voices} voices`).join('; ')} (of 3 and 2 each)`);
      for (const line of trace?.lines() ?? []) console.log(`    worker ${line}`);
    };
    // Alternate which goes first, so a drift in the machine's load hits both alike.
    if (r % 2 === 0) await runProduct().then(runFloor);
    else await runFloor().then(runProduct);
  }
  await host.close();
} finally {
  await browser.close().catch(() => undefined);
  await floor.close();
  await stack.stop();
  if (args['keep-data']) console.log(`stack data and logs kept in ${dataDir}`);
  else await rm(dataDir, { recursive: true, force: true });
}

const all = [...product.first, ...product.later].sort((a, b) => a - b);
const floorAll = [...floors.first, ...floors.later];
console.log(`first guest:  ${formatSpread(spread(product.first), 0, ' ms')}`);
console.log(`later guests: ${formatSpread(spread(product.later), 0, ' ms')}`);
console.log(`floor:        ${formatSpread(spread(floorAll), 0, ' ms')} (first ${median(floors.first).toFixed(0)} ms, later ${median(floors.later).toFixed(0)} ms)`);
// Like for like too: a later joiner's floor is a later floor joiner (a third page painting and sending on the same cores).
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
console.log(`against the floor: first ${ratio(product.first, floorAll)}×, later ${ratio(product.later, floorAll)}× the floor's median; first ${ratio(product.first, floors.first)}× the floor's first, later ${ratio(product.later, floors.later)}× the floor's later joiners`);
const result = {
  firstJoinerMedianMs: round(median(product.first)),
  laterJoinerMedianMs: round(median(product.later)),
  p95Ms: round(percentile(all, 95)),
  floorMedianMs: round(median(floorAll)),
};
if (!args['no-write']) console.log(`wrote ${await writeResult('ttff', result)}`);
console.log(JSON.stringify(result));
process.exit(0);
