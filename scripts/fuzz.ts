/**
 * `npm run fuzz`: property-based fuzzing (fast-check) of every client→server message of the room
 * socket and of the media node's signaling socket, as host, co-host, guest and waiting
 * participant, against the edge in Miniflare and a real local media node (when a mediasoup worker
 * binary is built; else the room socket alone).
 *   npm run fuzz [-- --messages 10000] [--seed 42] [--no-node]
 * After each batch: a well-behaved participant's socket still answers, both processes still
 * serve, and nothing a sender may not change has changed. Prints and writes
 * bench-results/fuzz.json: { messages, crashes, unauthorizedChanges, serverErrors, leakedInternals };
 * exits 1 when any but the first is not zero.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEdge, startNode, startStandInNode, workerBinary, type LocalEdge, type LocalNode } from './fuzz/local-stack.js';
import { NodeFuzzer } from './fuzz/node-fuzz.js';
import { RoomFuzzer, type BatchKind, type Fixture } from './fuzz/room-fuzz.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '10000' }, seed: { type: 'string' }, 'no-node': { type: 'boolean', default: false } },
});
const messages = Number(args.messages);
const seed = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);

/** Waits until the edge places a meeting (the node said hello and its region knows it). */
async function placeable(edge: LocalEdge): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const linkId = crypto.getRandomValues(new Uint8Array(16));
    const link = Buffer.from(linkId).toString('base64url');
    const hostUserId = crypto.randomUUID();
    await edge.target.configure({
      meetingId: crypto.randomUUID(), linkId: link, title: 'probe', hostUserId, hostName: 'Probe', passcode: null, allowGuests: true,
      waitingRoom: false, mode: 'meeting', maxParticipants: 10, scheduledStart: null, endedAt: null, version: Date.now(),
    });
    try {
      await edge.target.join(link, { user: { id: hostUserId, displayName: 'Probe' }, regions: edge.target.regions });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function main(): Promise<number> {
  console.log(`edgemeet fuzz — seed ${seed}, ≥ ${messages} room frames`);
  const edge = await startEdge(root);
  let node: LocalNode | null = null;
  let standIn: { stop(): void } | null = null;
  let nodeFuzzer: NodeFuzzer | null = null;
  try {
    const bin = args['no-node'] ? null : workerBinary(root);
    if (bin) {
      node = await startNode(root, edge, bin);
    } else {
      console.log('no mediasoup worker binary (or --no-node): a stand-in node places meetings; the room socket alone is fuzzed');
      standIn = await startStandInNode(edge);
    }
    await placeable(edge);
    const local = node;
    const fuzzer = new RoomFuzzer(edge.target, { messages, seed, roundMs: 2_500, log: (line) => console.log(line) });
    if (local) {
      const nodeSide = new NodeFuzzer(local, fuzzer.findings, edge.target.secrets, 25);
      nodeFuzzer = nodeSide;
      Object.assign(fuzzer.hooks, { onFixture: (fixture: Fixture) => nodeSide.onFixture(fixture), onBatch: (fixture: Fixture, kind: BatchKind, batchSeed: number) => nodeSide.onBatch(fixture, kind, batchSeed) });
    }
    const findings = await fuzzer.run();
    if (local?.exited() || process.env.FUZZ_NODE_OUTPUT) console.log(`the media node${local?.exited() ? " exited" : ""}; its last output:\n${local?.output().slice(-3_000)}`);
    const nodeMessages = nodeFuzzer?.messages ?? 0;
    const result = { ...findings.counters, messages: findings.counters.messages + nodeMessages };
    console.log(`room frames ${findings.counters.messages}, node requests ${nodeMessages}`);
    const tally = (answers: Map<string, number>) => JSON.stringify(Object.fromEntries([...answers].sort((a, b) => b[1] - a[1])));
    console.log(`room answers: ${tally(fuzzer.answers)}`);
    if (nodeFuzzer) console.log(`node answers: ${tally(nodeFuzzer.answers)}`);
    for (const [kind, examples] of Object.entries(findings.examples)) for (const example of examples) console.log(`${kind}: ${example}`);
    console.log(JSON.stringify(result));
    await mkdir(path.join(root, 'bench-results'), { recursive: true });
    await writeFile(path.join(root, 'bench-results/fuzz.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result.crashes + result.unauthorizedChanges + result.serverErrors + result.leakedInternals === 0 ? 0 : 1;
  } finally {
    nodeFuzzer?.close();
    standIn?.stop();
    await node?.stop();
    await edge.dispose();
  }
}

process.exitCode = await main();
