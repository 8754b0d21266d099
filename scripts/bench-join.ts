/**
 * `npm run bench:join [-- --meetings 100 --per-meeting 10 --concurrency 50 --rounds 3] [--diagnose] [--tree <dir>]`
 * Joins (issue 15, P2): guest joins (POST /api/meetings/:linkId/join) through the edge Worker,
 * RoomDO and RegionDO in Miniflare (no Postgres on this path), one fake media node on the real
 * control socket (scripts/bench/edge.ts). Each round: a Worker-only route at the same concurrency
 * (a bad link id answered 400 before any Durable Object — the reference), then joins spread over
 * the meetings. Also printed: first joins (placement through the RegionDO) and one meeting's ceiling.
 * Writes bench-results/join.json { joinsPerSec, p50Ms, p99Ms, rooms, baselineReqPerSec } (medians
 * over rounds of the spread joins; rooms = meetings they spread over).
 * Client and server share this box's cores: compare with the baseline of the same run.
 * `--diagnose`: instead, where a join's time goes — storage operations, sub-requests, CPU and a
 * profile per join (bench/join-diagnose.ts); writes nothing. `--tree <dir>`: the Worker bundled
 * from another copy of the repository (e.g. before a change), to run both back to back.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startBenchEdge } from './bench/edge.js';
import { diagnoseJoins } from './bench/join-diagnose.js';
import { describeLoad, measureLoad, type LoadOutcome } from './bench/load.js';
import { writeResult } from './bench/results.js';
import { formatSpread, median, round, spread } from './bench/stats.js';

const { values: args } = parseArgs({
  options: {
    meetings: { type: 'string', default: '100' },
    'per-meeting': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
    diagnose: { type: 'boolean', default: false },
    tree: { type: 'string' },
  },
});
const MEETINGS = Number(args.meetings);
const PER_MEETING = Number(args['per-meeting']);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);

if (args.diagnose) {
  await diagnoseJoins({ meetings: MEETINGS, perMeeting: PER_MEETING, concurrency: CONCURRENCY, ...(args.tree ? { tree: args.tree } : {}) });
  process.exit(0);
}

const edge = await startBenchEdge(args.tree ? { tree: args.tree } : {});
const baselines: LoadOutcome[] = [];
const spreads: LoadOutcome[] = [];
try {
  console.log(`join bench — Miniflare at ${edge.base.origin}, ${MEETINGS} meetings × ${PER_MEETING} joins per round, ${ROUNDS} rounds; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  const capacity = ROUNDS * PER_MEETING + 10;
  // Miniflare's proxy blocks this thread while it works: configure everything before the node's
  // heartbeat timer has to run.
  const warm = await edge.configure(1000);
  const meetings = await Promise.all(Array.from({ length: MEETINGS }, () => edge.configure(capacity)));
  const one = await edge.configure(1000);
  const big = await edge.configure(1000);
  await edge.connectNode();
  const join = async (linkId: string, name: string) => void (await edge.join(linkId, name));
  for (let i = 0; i < 20; i++) await join(warm, `warm ${i}`);
  const baseline = () =>
    measureLoad('baseline: Worker only (400, no DO)', MEETINGS * (PER_MEETING - 1), CONCURRENCY, async () => {
      const response = await fetch(`${edge.base.origin}/api/meetings/bad/join`, { method: 'POST', body: '{}' });
      await response.text();
      if (response.status !== 400) throw new Error(`baseline ${response.status}`);
    });

  console.log(describeLoad(await measureLoad('first joins (placement via RegionDO)', MEETINGS, CONCURRENCY, (i) => join(meetings[i]!, 'first')), 'joins'));
  for (let r = 0; r < ROUNDS; r++) {
    baselines.push(await baseline());
    console.log(describeLoad(baselines.at(-1)!));
    const total = MEETINGS * (PER_MEETING - 1);
    spreads.push(await measureLoad(`joins spread over ${MEETINGS} meetings`, total, CONCURRENCY, (i) => join(meetings[i % MEETINGS]!, `r${r}p${i}`.slice(0, 20))));
    console.log(describeLoad(spreads.at(-1)!, 'joins'));
  }
  console.log(describeLoad(await measureLoad('joins into one meeting (one DO), sequential', 300, 1, (i) => join(one, `s${i}`)), 'joins'));
  console.log(describeLoad(await measureLoad('joins into one meeting (one DO), concurrent', 600, CONCURRENCY, (i) => join(big, `c${i}`)), 'joins'));
} finally {
  await edge.close();
}

console.log(`spread joins: ${formatSpread(spread(spreads.map((o) => o.perSec)))} joins/s, p99 ${formatSpread(spread(spreads.map((o) => o.p99Ms)), 1, ' ms')}`);
console.log(`baseline:     ${formatSpread(spread(baselines.map((o) => o.perSec)))} req/s; joins ÷ baseline ${(median(spreads.map((o) => o.perSec)) / median(baselines.map((o) => o.perSec))).toFixed(2)}`);
const failures = spreads.reduce((n, o) => n + o.failures, 0);
if (failures > 0) console.log(`${failures} joins failed`);
const result = {
  joinsPerSec: round(median(spreads.map((o) => o.perSec))),
  p50Ms: round(median(spreads.map((o) => o.p50Ms)), 1),
  p99Ms: round(median(spreads.map((o) => o.p99Ms)), 1),
  rooms: MEETINGS,
  baselineReqPerSec: round(median(baselines.map((o) => o.perSec))),
};
if (!args['no-write']) console.log(`wrote ${await writeResult('join', result)}`);
console.log(JSON.stringify(result));
process.exit(failures > 0 ? 1 : 0);
