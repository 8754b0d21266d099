/**
 * Join/leave soak against a real media node process: cohorts of participants (audio + video,
 * receiving each other, rooms of `roomSize`) join, stay a few seconds and leave, again and again
 * for `minutes`. RSS (node + worker) is taken after a warm-up of `warmupMinutes` of the same
 * cycles, again at the end, each once the node's object gauges are back to zero (or a timeout).
 *
 * Why a warm-up of minutes, not one cycle: under this load V8 grows the node process's heap
 * (committed, `nodejs_heap_size_total_bytes`) from ~23 to ~32 MB over the first minutes while
 * the heap in use stays flat, and the worker's RSS settles within the first cycles. That is
 * sizing, not a leak; the RSS after the first cycle is reported too (`firstCycleRss`).
 */
import { newMeetingId } from '../../media-node/test/peers/tokens.js';
import type { WeriftPeer } from '../../media-node/test/peers/werift-peer.js';
import { OBJECT_GAUGES, startBenchNode, type BenchNode } from './spawned-node.js';
import { sleep } from './stats.js';

export interface SoakOptions {
  minutes: number;
  cohort: number;
  roomSize: number;
  stayMs: number;
  /** Cycles run before the baseline is taken (part of `minutes`). */
  warmupMinutes?: number;
  /** Keeps one participant of the last cohort connected: a known leftover (the harness's own test). */
  keepOne?: boolean;
  log?: (line: string) => void;
}

export interface SoakOutcome {
  cycles: number;
  /** RSS after the first cycle, for comparison with the baseline taken after the warm-up. */
  firstCycleRss: number;
  baselineRss: number;
  finalRss: number;
  rssGrowthPct: number;
  rssGrowthSinceFirstCyclePct: number;
  /** Sum of the node's object gauges at the end (rooms, participants, transports, producers, consumers). */
  objectsLeft: number;
  objects: Record<(typeof OBJECT_GAUGES)[number], number>;
  kept: WeriftPeer | null;
  node: BenchNode;
}

async function cycle(node: BenchNode, options: SoakOptions, n: number): Promise<WeriftPeer[]> {
  const peers: WeriftPeer[] = [];
  let meetingId = newMeetingId();
  for (let i = 0; i < options.cohort; i++) {
    if (i % options.roomSize === 0) meetingId = newMeetingId();
    peers.push(await node.participant(meetingId, `soak-${n}-${i}-${Date.now().toString(36)}`));
  }
  await sleep(options.stayMs);
  return peers;
}

const total = (objects: Record<string, number>) => Object.values(objects).reduce((a, b) => a + b, 0);
const growthPct = (from: number, to: number) => ((to - from) / from) * 100;
/** Bytes as megabytes, one decimal. */
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Runs the soak; the caller stops `outcome.node` (and closes `kept`). */
export async function runSoak(options: SoakOptions): Promise<SoakOutcome> {
  const log = options.log ?? (() => undefined);
  const node = await startBenchNode();
  const settle = async () => {
    for (let waited = 0; total(await node.objects()) > 0 && waited < 30_000; waited += 500) await sleep(500);
    await sleep(2000);
  };
  const warmupMs = Math.min(options.warmupMinutes ?? 0, options.minutes) * 60_000;
  // Warm-up: first-use allocations (code, pools, buffers) and heap sizing are not a leak.
  for (const peer of await cycle(node, options, 0)) await peer.close();
  await settle();
  const firstCycleRss = await node.rss(10);
  const warmupEnds = Date.now() + warmupMs;
  let cycles = 0;
  while (Date.now() < warmupEnds) {
    cycles++;
    await Promise.all((await cycle(node, options, cycles)).map((peer) => peer.close()));
  }
  await settle();
  const baselineRss = await node.rss(10);
  log(`RSS after the first cycle ${mb(firstCycleRss)}; baseline after ${cycles + 1} warm-up cycles ${mb(baselineRss)}`);
  const ends = Date.now() + options.minutes * 60_000 - warmupMs;
  let kept: WeriftPeer | null = null;
  while (Date.now() < ends) {
    cycles++;
    const peers = await cycle(node, options, cycles);
    const last = Date.now() >= ends;
    if (last && options.keepOne) kept = peers.shift() ?? null;
    await Promise.all(peers.map((peer) => peer.close()));
    if (cycles % 10 === 0) log(`cycle ${cycles}: RSS ${mb(await node.rss(1))}`);
  }
  await settle();
  const objects = await node.objects();
  const finalRss = await node.rss(10);
  return {
    cycles,
    firstCycleRss,
    baselineRss,
    finalRss,
    rssGrowthPct: growthPct(baselineRss, finalRss),
    rssGrowthSinceFirstCyclePct: growthPct(firstCycleRss, finalRss),
    objectsLeft: total(objects),
    objects,
    kept,
    node,
  };
}
