/**
 * `npm run bench:failover`: the failover drill, measured.
 *   node --import tsx scripts/bench-failover.ts [--rounds 5] [--nodes lon:2] [--skip-web-build] [--keep-logs] [--faults crash,partition,drain]
 * A local stack with two (or more) media nodes and a meeting of three Chromium pages; then, round
 * after round, a fault on the node serving the meeting:
 *   crash      SIGKILL of the node's process group (then it is started again),
 *   partition  SIGSTOP (sockets stay open, nothing answers; SIGCONT once the meeting moved),
 *   drain      `fleet drain <node>` (make-before-break; the node exits once empty, is started
 *              again and `fleet undrain`ed for the next rounds).
 * Each figure is ms from the fault to remote video decoding again on a new media session on the
 * slowest page of the round, on the page's own clock; for drain, the longest frame gap any page saw
 * (within a track timed by the browser's own delays between frames, so a page that answers its
 * sampler late does not count as a gap; across a switch to another track, from the sending of the
 * last sample that saw progress to the answer of the next, an upper bound). The references in the
 * same run (printed, not in the JSON): the longest frame gap with no fault, and the recovery when
 * only the pages' media sockets drop (the client's own rebuild, no node fault). Writes
 * bench-results/failover.json with exactly the fields issue 11 names:
 *   { crashRecoveryMs: {median, max}, partitionRecoveryMs: {median, max}, drainMaxGapMs: {median, max}, rounds }
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { dropSockets } from '../edge/web/test/people.js';
import { launchChromium } from './chromium.js';
import { startStack, type MediaNodeHandle, type Stack } from './dev-stack.js';
import { describeTimelines, everyoneDecodes, measureFault, measureQuiet, openCall, servingNode, untilServing, type FaultResult, type Person } from './failover/drill.js';
import { failoverResult, summary, writeFailoverResult } from './failover/result.js';
import { runFleetCli } from './fleet/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULT = path.join(ROOT, 'bench-results/failover.json');
/** The goals, printed next to the figures. */
const GOALS = { crash: 3_000, partition: 8_000, drainGap: 500 };
/** A round fails when some page has no video on a new session by then (generous: a busy machine is slow, not broken). */
const FAULT_TIMEOUT_MS = 90_000;

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, nodes: { type: 'string', default: 'lon:2' }, 'skip-web-build': { type: 'boolean', default: false }, 'keep-logs': { type: 'boolean', default: false }, faults: { type: 'string', default: 'crash,partition,drain' } },
});
const ROUNDS = Number(args.rounds);
const ALL_FAULTS = ['crash', 'partition', 'drain'] as const;
/** `--faults drain` (comma-separated) runs only those; the result file needs all three. */
const FAULTS = new Set(args.faults.split(',').map((name) => name.trim()));
for (const fault of FAULTS) if (!(ALL_FAULTS as readonly string[]).includes(fault)) throw new Error(`--faults: unknown fault "${fault}" (${ALL_FAULTS.join(', ')})`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a positive integer');

/** `npm run fleet -- <command> <node>` as an operator runs it (in-process: the same code, no tsx start-up). */
async function fleetCli(stack: Stack, command: 'drain' | 'undrain', nodeId: string): Promise<void> {
  let output = '';
  const io = { out: (text: string) => (output += text), err: (text: string) => (output += text), env: {}, defaultDataDir: stack.dataDir };
  // `--token=`: a base64url token may start with a dash, which parseArgs would take for an option.
  const code = await runFleetCli([command, nodeId, `--edge=${stack.edgeUrl}`, `--token=${stack.adminToken}`], io);
  if (code !== 0) throw new Error(`fleet ${command} ${nodeId} exited ${code}: ${output}`);
}

async function referenceRound(people: Person[]): Promise<number> {
  const result = await measureFault(people, async () => void (await Promise.all(people.map(({ page }) => dropSockets(page, 'media')))), { timeoutMs: FAULT_TIMEOUT_MS });
  explain('media sockets dropped', result, people);
  return Math.max(...result.recoveryMs);
}

async function crashRound(stack: Stack, people: Person[]): Promise<number> {
  const node = await servingNode(stack);
  const result = await measureFault(people, () => node.signal('SIGKILL'), { timeoutMs: FAULT_TIMEOUT_MS });
  explain(node.nodeId, result, people);
  await node.exited;
  await node.restart();
  // The next round's fault needs somewhere to move to.
  await untilServing(stack, node.nodeId);
  return Math.max(...result.recoveryMs);
}

async function partitionRound(stack: Stack, people: Person[]): Promise<number> {
  const node = await servingNode(stack);
  try {
    const result = await measureFault(people, () => node.signal('SIGSTOP'), { timeoutMs: FAULT_TIMEOUT_MS });
    explain(node.nodeId, result, people);
    return Math.max(...result.recoveryMs);
  } finally {
    node.signal('SIGCONT');
    await untilServing(stack, node.nodeId);
  }
}

async function drainRound(stack: Stack, people: Person[]): Promise<number> {
  const node: MediaNodeHandle = await servingNode(stack);
  const result = await measureFault(people, () => fleetCli(stack, 'drain', node.nodeId), { timeoutMs: FAULT_TIMEOUT_MS });
  explain(node.nodeId, result, people);
  // A drained node exits once its meeting was closed there (after the make-before-break grace).
  await node.exited;
  await node.restart();
  await fleetCli(stack, 'undrain', node.nodeId);
  await untilServing(stack, node.nodeId);
  return result.maxGapMs;
}

function explain(what: string, result: FaultResult, people: Person[]): void {
  console.log(`[bench]   ${what}: per page ${result.recoveryMs.join(' / ')} ms to video on a new session; longest gap ${result.maxGapMs} ms (${result.maxGapAt}); sessions ${result.sessions.join('/')}; fault at ${result.faultAt}`);
  // Where the time went, per page (the client's milestones since the fault, ms).
  for (const line of describeTimelines(people, result).split('\n')) console.log(`[bench]     ${line}`);
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

    const live = stack;
    const reference = await rounds('reference (media sockets dropped, no fault)', () => referenceRound(people), people);
    const crash = FAULTS.has('crash') ? await rounds('crash (SIGKILL)', () => crashRound(live, people), people) : [];
    const partition = FAULTS.has('partition') ? await rounds('partition (SIGSTOP)', () => partitionRound(live, people), people) : [];
    const drain = FAULTS.has('drain') ? await rounds('drain (fleet drain)', () => drainRound(live, people), people) : [];
    if (FAULTS.size < ALL_FAULTS.length) {
      // A look at some faults only (while working on one path): figures printed, no result file.
      console.log(`\nfailover (${[...FAULTS].join(', ')} only), ${ROUNDS} rounds each: crash ${crash.join(', ') || '-'}; partition ${partition.join(', ') || '-'}; drain gap ${drain.join(', ') || '-'}; reference ${reference.join(', ')}; quiet gap ${quietGapMs} ms`);
      failed = false;
      return;
    }

    const result = failoverResult({ crash, partition, drain });
    await writeFailoverResult(RESULT, result);
    const ref = summary(reference);
    const line = (name: string, figures: { median: number; max: number }, goal: number, against: number) =>
      `  ${name.padEnd(22)} median ${String(figures.median).padStart(6)} ms   max ${String(figures.max).padStart(6)} ms   ${(figures.median / Math.max(1, against)).toFixed(1).padStart(5)} × reference   goal ≤ ${goal} ms ${figures.max <= goal ? 'met' : 'MISSED'}`;
    console.log(`\nfailover, ${ROUNDS} rounds each, ${stack.nodes.length} nodes (${args.nodes}), three Chromium pages:`);
    console.log(line('crash → video again', result.crashRecoveryMs, GOALS.crash, ref.median));
    console.log(line('partition → video', result.partitionRecoveryMs, GOALS.partition, ref.median));
    console.log(line('drain: longest gap', result.drainMaxGapMs, GOALS.drainGap, quietGapMs));
    console.log(`  references: media sockets dropped → video again median ${ref.median} ms, max ${ref.max} ms (recoveries are × this); longest gap with no fault ${quietGapMs} ms (the drain gap is × this)`);
    console.log(`  per round: crash ${crash.join(', ')}; partition ${partition.join(', ')}; drain ${drain.join(', ')}; reference ${reference.join(', ')}`);
    console.log(`wrote ${path.relative(ROOT, RESULT)}`);
    failed = false;
  } finally {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    // Keep the logs of a failed drill for a look.
    if (failed || args['keep-logs']) console.error(`logs kept in ${path.join(dataDir, 'logs')}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
