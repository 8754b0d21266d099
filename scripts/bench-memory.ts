/**
 * `npm run bench:memory [-- --participants 24 --room-size 4 --guests 300]`
 * Memory (issue 15, point 5):
 *  - nodeRssPerParticipantKb: a real media node process (one worker); participants publishing
 *    audio + video and receiving everyone, added in four equal steps in rooms of --room-size;
 *    RSS of node + worker after each (and of the empty node, the reference); the least-squares
 *    slope over the steps (the V8 heap moves by megabytes between collections);
 *  - roomDoBytesPerParticipant: one RoomDO in Miniflare, --guests joined in four steps, its SQLite
 *    database size (pages × page size) after each; the least-squares slope.
 * Writes bench-results/memory.json { nodeRssPerParticipantKb, roomDoBytesPerParticipant }.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { measureNodeRss, rssSlopesKb } from './bench/node-memory.js';
import { measureRoomStorage, storageSlopes } from './bench/room-storage.js';
import { writeResult } from './bench/results.js';
import { formatSpread, round, slope, spread } from './bench/stats.js';

const { values: args } = parseArgs({
  options: {
    participants: { type: 'string', default: '24' },
    'room-size': { type: 'string', default: '4' },
    guests: { type: 'string', default: '300' },
    'no-write': { type: 'boolean', default: false },
  },
});
const STEPS = 4;
const steps = (total: number) => Array.from({ length: STEPS }, (_, i) => Math.round((total * (i + 1)) / STEPS));

console.log(`memory: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
const rss = await measureNodeRss(steps(Number(args.participants)), Number(args['room-size']));
for (const step of rss) console.log(`  media node with ${String(step.participants).padStart(3)} participants: RSS ${(step.rssBytes / 1024 / 1024).toFixed(1)} MB (node ${((step.parts?.node ?? 0) / 1024 / 1024).toFixed(1)} + worker ${((step.parts?.workers ?? 0) / 1024 / 1024).toFixed(1)})`);
// The node's V8 heap moves by megabytes between garbage collections: the figure is the
// least-squares slope over all steps; the step-to-step slopes show the noise.
const rssPerParticipantKb = slope(rss.map((step) => ({ x: step.participants, y: step.rssBytes / 1024 })));
console.log(`  per participant: ${rssPerParticipantKb.toFixed(0)} KB (least squares); step to step ${formatSpread(spread(rssSlopesKb(rss)), 0, ' KB')}; empty node ${(rss[0]!.rssBytes / 1024 / 1024).toFixed(1)} MB`);

const storage = await measureRoomStorage(steps(Number(args.guests)));
for (const step of storage) console.log(`  RoomDO with ${String(step.participants).padStart(4)} participants: ${step.bytes} bytes of SQLite`);
const storagePerParticipant = slope(storage.map((step) => ({ x: step.participants, y: step.bytes })));
console.log(`  per participant: ${storagePerParticipant.toFixed(0)} bytes (least squares); step to step ${formatSpread(spread(storageSlopes(storage)), 0, ' bytes')}; empty room ${storage[0]!.bytes} bytes`);

const result = { nodeRssPerParticipantKb: round(rssPerParticipantKb), roomDoBytesPerParticipant: round(storagePerParticipant) };
console.log(JSON.stringify(result));
// A slope at or below zero means the noise swamped the signal (a busy box, a collection mid-run):
// not a figure to hand the simulation.
const usable = result.nodeRssPerParticipantKb > 0 && result.roomDoBytesPerParticipant > 0;
if (!usable) console.log('not written: a slope at or below zero is noise; run again (more --participants) on a quieter box');
else if (!args['no-write']) console.log(`wrote ${await writeResult('memory', result)}`);
// werift peers and Miniflare leave handles behind: the figures are out, so end here.
process.exit(usable ? 0 : 1);
