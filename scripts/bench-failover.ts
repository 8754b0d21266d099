/**
 * `npm run bench:failover`: the failover drill, measured.
 *   node --import tsx scripts/bench-failover.ts [--rounds 5] [--nodes lon:2] [--skip-web-build]
 * A local stack with two (or more) media nodes and a meeting of three Chromium pages; then, round
 * after round, a fault on the node serving the meeting:
 *   crash      SIGKILL of the node's process group (then it is started again),
 *   partition  SIGSTOP (sockets stay open, nothing answers; SIGCONT once the meeting moved),
 *   drain      `fleet drain` of the node (make-before-break; undrained and restarted after).
 * Each figure is milliseconds from the fault to remote video decoding again on a new media session
 * on the slowest page of the round; for drain, the longest frame gap any page saw. The reference in
 * the same run is the longest frame gap with no fault. Writes bench-results/failover.json:
 *   { crashRecoveryMs: {median, max}, partitionRecoveryMs: {median, max}, drainMaxGapMs: {median, max}, rounds }
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startStack, type MediaNodeHandle, type Stack } from './dev-stack.js';
import { everyoneDecodes, measureFault, measureQuiet, openCall, servingNode, summary, untilServing, type FaultResult, type Person } from './failover/drill.js';
import { FleetApiError } from './fleet/client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULT = path.join(ROOT, 'bench-results/failover.json');
/** The goals, printed next to the figures. */
const GOALS = { crash: 3_000, partition: 8_000, drainGap: 500 };

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, nodes: { type: 'string', default: 'lon:2' }, 'skip-web-build': { type: 'boolean', default: false } },
});
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a positive integer');

type DrainBy = 'fleet drain' | 'SIGTERM';

/** `fleet drain` when the edge can undo it (undrain), else the node's own drain on SIGTERM. */
async function drainMethod(stack: Stack): Promise<DrainBy> {
  const node = stack.nodes[0]!;
  try {
    await stack.fleet.undrain(node.region, node.nodeId);
    return 'fleet drain';
  } catch (error) {
    if (error instanceof FleetApiError && error.status === 404) return 'SIGTERM';
    throw error;
  }
}

async function crashRound(stack: Stack, people: Person[]): Promise<number> {
  const node = await servingNode(stack);
  const result = await measureFault(people, () => node.signal('SIGKILL'));
  explain(node, result);
  await node.exited;
  await node.restart();
  return Math.max(...result.recoveryMs);
}

async function partitionRound(stack: Stack, people: Person[]): Promise<number> {
  const node = await servingNode(stack);
  try {
    const result = await measureFault(people, () => node.signal('SIGSTOP'));
    explain(node, result);
    return Math.max(...result.recoveryMs);
  } finally {
    node.signal('SIGCONT');
    await untilServing(stack, node.nodeId);
  }
}

async function drainRound(stack: Stack, people: Person[], by: DrainBy): Promise<number> {
  const node = await servingNode(stack);
  const drain = async (handle: MediaNodeHandle) => {
    if (by === 'fleet drain') await stack.fleet.drain(handle.region, handle.nodeId);
    else handle.signal('SIGTERM');
  };
  const result = await measureFault(people, () => drain(node));
  explain(node, result);
  // A drained node exits once its meeting left; bring it back for the next rounds.
  await node.exited;
  await node.restart();
  if (by === 'fleet drain') await stack.fleet.undrain(node.region, node.nodeId);
  await untilServing(stack, node.nodeId);
  return result.maxGapMs;
}

function explain(node: MediaNodeHandle, result: FaultResult): void {
  console.log(`[bench]   ${node.nodeId}: per page ${result.recoveryMs.join(' / ')} ms to video on a new session; longest gap ${result.maxGapMs} ms; sessions ${result.sessions.join('/')}`);
}

async function rounds(label: string, run: () => Promise<number>, people: Person[]): Promise<number[]> {
  const figures: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const figure = await run();
    figures.push(figure);
    console.log(`[bench] ${label} round ${round}/${ROUNDS}: ${figure} ms`);
    await everyoneDecodes(people, 60_000);
  }
  return figures;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-failover-'));
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let failed = true;
  try {
    stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, nodes: args.nodes, skipWebBuild: args['skip-web-build'], writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
    if (stack.nodes.length < 2) throw new Error(`the drill needs two or more media nodes (--nodes ${args.nodes})`);
    browser = await launchChromium();
    const { people } = await openCall(browser, stack);
    const quietGapMs = await measureQuiet(people, 5_000);
    console.log(`[bench] reference: longest frame gap with no fault over 5 s: ${quietGapMs} ms`);
    const drainBy = await drainMethod(stack);
    if (drainBy === 'SIGTERM') console.log('[bench] the edge has no undrain route: drain rounds use SIGTERM (the node drains itself) instead of `fleet drain`');

    const live = stack;
    const crash = await rounds('crash (SIGKILL)', () => crashRound(live, people), people);
    const partition = await rounds('partition (SIGSTOP)', () => partitionRound(live, people), people);
    const drain = await rounds(`drain (${drainBy})`, () => drainRound(live, people, drainBy), people);

    const result = { crashRecoveryMs: summary(crash), partitionRecoveryMs: summary(partition), drainMaxGapMs: summary(drain), rounds: ROUNDS };
    await mkdir(path.dirname(RESULT), { recursive: true });
    await writeFile(RESULT, `${JSON.stringify(result, null, 2)}\n`);
    const line = (name: string, figures: { median: number; max: number }, goal: number) =>
      `  ${name.padEnd(22)} median ${String(figures.median).padStart(6)} ms   max ${String(figures.max).padStart(6)} ms   goal ≤ ${goal} ms ${figures.max <= goal ? 'met' : 'MISSED'}`;
    console.log(`\nfailover, ${ROUNDS} rounds each, ${stack.nodes.length} nodes (${args.nodes}), three Chromium pages:`);
    console.log(line('crash → video again', result.crashRecoveryMs, GOALS.crash));
    console.log(line('partition → video', result.partitionRecoveryMs, GOALS.partition));
    console.log(line('drain: longest gap', result.drainMaxGapMs, GOALS.drainGap));
    console.log(`  reference: longest gap with no fault ${quietGapMs} ms\nwrote ${path.relative(ROOT, RESULT)}`);
    failed = false;
  } finally {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    // Keep the logs of a failed drill for a look.
    if (failed) console.error(`logs kept in ${path.join(dataDir, 'logs')}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
