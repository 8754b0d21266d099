/**
 * `npm run soak [-- --minutes 30 --warmup-minutes 3 --cohort 6 --room-size 3 --stay-seconds 5]`
 * (not part of npm run bench). Join/leave soak of a real media node process
 * (scripts/bench/soak-run.ts) for --minutes; passes when the node's mediasoup objects (its rooms,
 * participants, transports, producers, consumers gauges) are back to zero and its RSS (node +
 * worker) within 5 % of the baseline taken after the warm-up (the first --warmup-minutes of the
 * same cycles, while V8 sizes its heap). Writes bench-results/soak.json { minutes, warmupMinutes,
 * cycles, mediasoupObjectsLeft, rssGrowthPct, rssGrowthSinceFirstCyclePct }; exits 1 when it fails.
 */
import { parseArgs } from 'node:util';
import { writeResult } from './bench/results.js';
import { mb, runSoak } from './bench/soak-run.js';
import { round } from './bench/stats.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'warmup-minutes': { type: 'string', default: '3' },
    cohort: { type: 'string', default: '6' },
    'room-size': { type: 'string', default: '3' },
    'stay-seconds': { type: 'string', default: '5' },
    'no-write': { type: 'boolean', default: false },
  },
});
const minutes = Number(args.minutes);
const warmupMinutes = Number(args['warmup-minutes']);
const RSS_LIMIT_PCT = 5;

console.log(`soak: ${minutes} min of join/leave (the first ${warmupMinutes} a warm-up), cohorts of ${args.cohort} in rooms of ${args['room-size']}, ${args['stay-seconds']} s each`);
const outcome = await runSoak({
  minutes,
  warmupMinutes,
  cohort: Number(args.cohort),
  roomSize: Number(args['room-size']),
  stayMs: Number(args['stay-seconds']) * 1000,
  log: (line) => console.log(`  ${line}`),
});
await outcome.node.stop();
console.log(`  ${outcome.cycles} cycles; objects left ${JSON.stringify(outcome.objects)}`);
const signed = (pct: number) => `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
console.log(`  RSS ${mb(outcome.baselineRss)} → ${mb(outcome.finalRss)} (${signed(outcome.rssGrowthPct)}, limit ${RSS_LIMIT_PCT} %)`);
console.log(`  (from the RSS after the first cycle, ${mb(outcome.firstCycleRss)}: ${signed(outcome.rssGrowthSinceFirstCyclePct)})`);
const result = {
  minutes,
  warmupMinutes,
  cycles: outcome.cycles,
  mediasoupObjectsLeft: outcome.objectsLeft,
  rssGrowthPct: round(outcome.rssGrowthPct, 1),
  rssGrowthSinceFirstCyclePct: round(outcome.rssGrowthSinceFirstCyclePct, 1),
};
if (!args['no-write']) console.log(`wrote ${await writeResult('soak', result)}`);
console.log(JSON.stringify(result));
const passed = outcome.objectsLeft === 0 && outcome.rssGrowthPct <= RSS_LIMIT_PCT;
console.log(passed ? 'soak passed' : 'soak FAILED');
// werift peers leave handles behind: the figures are out, so end here.
process.exit(passed ? 0 : 1);
