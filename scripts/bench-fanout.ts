/**
 * `npm run bench:fanout [-- --rooms 2 --publishers 3 --subscribers 12 --seconds 6 --rounds 3]`
 * Media fan-out (issue 15, P1): the same rooms — VP8 simulcast producers sent by werift WebRTC
 * peers, received by werift peers over SRTP — once through the media node's signaling (a real
 * node in this process, one mediasoup worker) and once on a bare mediasoup worker with the same
 * binary (scripts/bench/bare-sfu.ts), alternating, repeated. Consumers per core is the live
 * consumers ÷ the CPU share of the forwarding worker they add (share with everything flowing minus
 * the share with the publishers alone): the box is shared, so the worker is not driven to
 * saturation; its CPU per consumer is what is compared. The senders and
 * receivers run in this process and are not counted. Writes bench-results/fanout.json:
 * { productConsumersPerCore, bareConsumersPerCore, ratio, lossPct } (medians over rounds; ratio is
 * the median of each round's product ÷ bare, paired in time; lossPct: the node's).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { newMeetingId, startTestNode } from '../media-node/test/harness.js';
import { startBareSfu } from './bench/bare-sfu.js';
import { runFanout, type FanoutOutcome, type FanoutSize, type FanoutTarget } from './bench/fanout-run.js';
import { writeResult } from './bench/results.js';
import { formatSpread, median, round, spread } from './bench/stats.js';

const { values: args } = parseArgs({
  options: {
    rooms: { type: 'string', default: '2' },
    publishers: { type: 'string', default: '3' },
    subscribers: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    'drop-fraction': { type: 'string', default: '0' },
    'no-write': { type: 'boolean', default: false },
  },
});
const size: FanoutSize = {
  rooms: Number(args.rooms),
  publishers: Number(args.publishers),
  subscribers: Number(args.subscribers),
  seconds: Number(args.seconds),
  dropFraction: Number(args['drop-fraction']),
};
const ROUNDS = Number(args.rounds);

const node = await startTestNode({ NUM_WORKERS: '1', CONSUMERS_PER_WORKER: '100000' });
const bare = await startBareSfu();
const product: FanoutTarget = {
  name: 'media node',
  workerPid: node.node.pool.slots[0]!.worker.pid,
  join: async (room, participant) => ({ url: node.url, token: await node.token(meetingIdOf(room), participant) }),
};
const reference: FanoutTarget = { name: 'bare worker', workerPid: bare.worker.pid, join: async (room) => ({ url: bare.url, token: room }) };
const meetingIds = new Map<string, string>();
function meetingIdOf(room: string): string {
  if (!meetingIds.has(room)) meetingIds.set(room, newMeetingId());
  return meetingIds.get(room)!;
}

const outcomes: Record<'product' | 'bare', FanoutOutcome[]> = { product: [], bare: [] };
const print = (label: string, o: FanoutOutcome) =>
  console.log(`  ${label.padEnd(12)} ${o.consumers} consumers, worker ${(o.workerCores * 100).toFixed(1)} % of a core (publishers alone ${(o.ingestCores * 100).toFixed(1)} %) → ${o.consumersPerCore.toFixed(0)} consumers/core, loss ${o.lossPct.toFixed(2)} %`);
try {
  console.log(`fan-out: ${size.rooms} rooms × ${size.publishers} simulcast publishers × ${size.subscribers} subscribers, ${size.seconds} s windows, ${ROUNDS} rounds; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so a drift in the machine's load hits both alike.
    const order = round % 2 === 0 ? (['product', 'bare'] as const) : (['bare', 'product'] as const);
    console.log(`round ${round + 1}`);
    for (const which of order) {
      const outcome = await runFanout(which === 'product' ? product : reference, size);
      outcomes[which].push(outcome);
      print(which === 'product' ? 'media node' : 'bare worker', outcome);
    }
  }
} finally {
  await node.stop();
  await bare.close();
}

const perCore = (which: 'product' | 'bare') => outcomes[which].map((o) => o.consumersPerCore);
const ratios = outcomes.product.map((o, i) => o.consumersPerCore / outcomes.bare[i]!.consumersPerCore);
console.log(`media node:  ${formatSpread(spread(perCore('product')))} consumers/core, loss ${formatSpread(spread(outcomes.product.map((o) => o.lossPct)), 2, ' %')}`);
console.log(`bare worker: ${formatSpread(spread(perCore('bare')))} consumers/core, loss ${formatSpread(spread(outcomes.bare.map((o) => o.lossPct)), 2, ' %')}`);
console.log(`ratio (per round): ${formatSpread(spread(ratios), 2)}`);
const result = {
  productConsumersPerCore: round(median(perCore('product'))),
  bareConsumersPerCore: round(median(perCore('bare'))),
  ratio: round(median(ratios), 2),
  lossPct: round(median(outcomes.product.map((o) => o.lossPct)), 2),
};
if (!args['no-write']) console.log(`wrote ${await writeResult('fanout', result)}`);
console.log(JSON.stringify(result));
// werift peers and Miniflare leave handles behind: the figures are out, so end here.
process.exit(0);
