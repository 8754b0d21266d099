/**
 * `npm run bench:webinar [-- --viewers 60 --seconds 10 --procs N --no-write]` (issue 14, webinars)
 * One presenter and N receive-only viewers over three real media node processes in two regions
 * (A and B in London, C in Frankfurt), each node with a fake edge for its control socket. The
 * presenter (werift, Opus + VP8 RTP, 80 packets/s) publishes on node A; its producers are relayed
 * A → B and A → C with the cascade commands exactly as the RoomDO sends them (docs/cascading.md).
 * The viewers (werift, WebRTC over ICE/DTLS/SRTP) are spread round-robin over the three nodes and
 * run in viewer processes of their own (`--procs`, default one per 150 viewers, at most 4), so
 * the presenter's clock and sending do not wait behind them. They count every packet from its
 * RTP header and decrypt one in eight for its send time (see `viewerHost`).
 *
 * Each payload carries its send time. Over one window, once every viewer receives:
 *   lossPct            1 − deliveries of the packets sent in the window ÷ (those packets × viewers)
 *   addedLatencyMsP95  per sampled packet, a relayed viewer's delay minus the median delay of node A's
 *                      viewers (same process, same clock) for that same packet, p95: the cost of
 *                      one relay hop, against the reference measured in the same run
 *   cpuPerNodePct      CPU of each node (its Node process and its mediasoup worker), % of a core
 * Everything shares this box's cores: with many viewers their event loops add to every delay,
 * which the per-packet pairing against node A's viewers cancels only in part.
 * Writes bench-results/webinar.json { viewers, nodes, regions, lossPct, addedLatencyMsP95, cpuPerNodePct }.
 */
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { NodeCommand, NodeCommandData, RegionId } from '../schema/wire/index.js';
import { FakeEdge, nodeCredential } from '../media-node/test/fake-edge.js';
import { TestTokenIssuer, newMeetingId, newParticipantId } from '../media-node/test/peers/tokens.js';
import { WeriftPeer } from '../media-node/test/peers/werift-peer.js';
import { spawnMediaNode, type SpawnedNode } from '../media-node/test/spawn-node.js';
import { startDelayedHop, type DelayedHop } from './bench/delayed-hop.js';
import { cpuSeconds } from './bench/proc.js';
import { RESULTS_DIR } from './bench/results.js';
import { udpDropsByPid } from './bench/udp-drops.js';
import { percentile, round, sleep } from './bench/stats.js';
import { epochNow, Host, MEDIA_WITHIN_MS, packetKey, type ViewerSpec } from './bench/webinar-viewers.js';

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '10' },
    /** Joins in flight at a time in each viewer process. */
    'join-batch': { type: 'string', default: '5' },
    /** Viewer processes; default one per 150 viewers, at most 4. */
    procs: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    /** The harness's test: a known delay put on each relay hop (A → B, A → C), which the added latency must show. */
    'hop-delay-ms': { type: 'string', default: '0' },
  },
});
const VIEWERS = Number(args.viewers);
const SECONDS = Number(args.seconds);
const JOIN_BATCH = Number(args['join-batch']);
const PROCS = args.procs !== undefined ? Number(args.procs) : Math.min(4, Math.max(1, Math.ceil(VIEWERS / 150)));
const SECRET = 'bench-webinar-node-secret';
const HOP_DELAY_MS = Number(args['hop-delay-ms']);
/** Tokens per viewer: a viewer whose media does not start joins again as a new participant, at most this many times in all. */
const JOIN_ATTEMPTS = 5;

const webinarResultSchema = z.strictObject({
  viewers: z.number(),
  nodes: z.number(),
  regions: z.number(),
  lossPct: z.number(),
  addedLatencyMsP95: z.number(),
  cpuPerNodePct: z.array(z.number()),
});

interface BenchNode {
  nodeId: string;
  region: RegionId;
  edge: FakeEdge;
  spawned: SpawnedNode;
  url: string;
  /** Sends a command over the node's control socket; its answer's data, or throws with the error code. */
  command(command: NodeCommand): Promise<NodeCommandData | undefined>;
}

async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`webinar bench: timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function startNode(nodeId: string, region: RegionId, issuer: TestTokenIssuer): Promise<BenchNode> {
  const credential = nodeCredential(SECRET, nodeId);
  const edge = await FakeEdge.start({ credential });
  const spawned = spawnMediaNode({
    NODE_ID: nodeId,
    REGION: region,
    MEDIA_TOKEN_PUBLIC_JWK: issuer.publicJwk,
    EDGE_URL: edge.url,
    NODE_CREDENTIAL: credential,
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: '0',
    RTC_LISTEN_IP: '127.0.0.1',
    RTC_MIN_PORT: '0',
    NUM_WORKERS: '1',
    CONSUMERS_PER_WORKER: '100000',
    RECORDING_ENABLED: 'false',
    // info: the node logs its port and worker pid at start (spawn-node.ts reads them).
    LOG_LEVEL: 'info',
  });
  try {
    await until(`${nodeId} to start`, () => (spawned.port() !== 0 && spawned.workerPids.length > 0) || spawned.child.exitCode !== null, 60_000);
    if (spawned.child.exitCode !== null) throw new Error(`${nodeId} exited:\n${spawned.output().slice(-2000)}`);
    await edge.waitFor(() => edge.hellos().length > 0, 30_000, `${nodeId} control link`);
  } catch (error) {
    spawned.kill();
    await edge.stop();
    throw error;
  }
  return {
    nodeId,
    region,
    edge,
    spawned,
    url: `ws://127.0.0.1:${spawned.port()}`,
    async command(command) {
      const result = await edge.command(command, 30_000);
      if (!result.ok) throw new Error(`${nodeId}: ${command.command} refused: ${result.error?.code} ${result.error?.message}`);
      return result.data;
    },
  };
}

/**
 * The RoomDO's relay of one producer from `from` to `to` (pipe opened and connected once). With
 * `--hop-delay-ms`, the pipe runs through a relay that delays from → to; it is added to `hops`.
 */
async function relay(meetingId: string, from: BenchNode, to: BenchNode, producerIds: string[], hops: DelayedHop[]): Promise<void> {
  const [endFrom, endTo] = await Promise.all([
    from.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: to.nodeId }),
    to.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: from.nodeId }),
  ]);
  if (endFrom?.kind !== 'pipeEnd' || endTo?.kind !== 'pipeEnd') throw new Error('cascadeOpenPipe answers a pipe end');
  let [remoteForFrom, remoteForTo] = [endTo.pipe, endFrom.pipe];
  if (HOP_DELAY_MS > 0) {
    const hop = await startDelayedHop(endFrom.pipe, endTo.pipe, HOP_DELAY_MS);
    hops.push(hop);
    [remoteForFrom, remoteForTo] = [{ ...endTo.pipe, ...hop.forA }, { ...endFrom.pipe, ...hop.forB }];
  }
  await Promise.all([
    from.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: to.nodeId, remote: remoteForFrom }),
    to.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: from.nodeId, remote: remoteForTo }),
  ]);
  for (const producerId of producerIds) {
    const sent = await from.command({ command: 'cascadeSendProducer', meetingId, peerNodeId: to.nodeId, producerId });
    if (sent?.kind !== 'relayedProducer') throw new Error('cascadeSendProducer answers a relayed producer');
    await to.command({ command: 'cascadeReceiveProducer', meetingId, peerNodeId: from.nodeId, producer: sent.producer });
  }
}

/** CPU seconds of a node's Node process and of its mediasoup workers. */
const nodeCpu = async (node: BenchNode) => {
  const [process, ...workers] = await Promise.all([node.spawned.child.pid!, ...node.spawned.workerPids].map(cpuSeconds));
  return { process: process!, workers: workers.reduce((a, b) => a + b, 0) };
};

async function main(): Promise<number> {
  const issuer = await TestTokenIssuer.create();
  const nodes: BenchNode[] = [];
  const hosts: Host[] = [];
  const hops: DelayedHop[] = [];
  let presenter: WeriftPeer | undefined;
  // Stopped from outside (a test's timeout): end what this run started before going.
  process.once('SIGTERM', () => {
    for (const host of hosts) host.child.kill('SIGKILL');
    for (const node of nodes) {
      node.spawned.kill();
      for (const pid of node.spawned.workerPids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone with its node already
        }
      }
    }
    process.exit(143);
  });
  try {
    console.log(
      `webinar: 1 presenter, ${VIEWERS} viewers over 3 nodes in 2 regions (${PROCS} viewer processes), ${SECONDS} s window; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    const started = await Promise.allSettled([startNode('webinar-a', 'lon', issuer), startNode('webinar-b', 'lon', issuer), startNode('webinar-c', 'fra', issuer)]);
    // Those that did start are stopped below even when another did not.
    for (const outcome of started) if (outcome.status === 'fulfilled') nodes.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [nodeA, nodeB, nodeC] = nodes as [BenchNode, BenchNode, BenchNode];
    const meetingId = newMeetingId();
    const token = (node: BenchNode, participantId: string, perms: ('publish' | 'subscribe')[]) =>
      issuer.sign({ nodeId: node.nodeId, meetingId, participantId, perms, expiresIn: 900 });

    presenter = await WeriftPeer.join({ url: nodeA.url, token: await token(nodeA, newParticipantId('presenter'), ['publish']), receive: false, browserLikeConsent: true });
    const sent: { key: number; stamp: number }[] = [];
    presenter.onSent = (kind, stamp, rtpTimestamp) => sent.push({ key: packetKey(kind, rtpTimestamp), stamp });
    await presenter.publish({ audio: true, video: true, stamp: true });
    const producerIds = [presenter.producerIds.audio!, presenter.producerIds.video!];

    for (let index = 0; index < PROCS; index++) hosts.push(new Host());
    // Viewer i watches node i mod 3 from host ⌊i/3⌋ mod PROCS: every host has viewers on every node.
    const viewersOf = async (from: number, to: number, awaitMedia: boolean) => {
      const perHost = hosts.map(() => [] as ViewerSpec[]);
      for (let index = from; index < to; index++) {
        const node = nodes[index % nodes.length]!;
        const tokens = await Promise.all(Array.from({ length: JOIN_ATTEMPTS }, () => token(node, newParticipantId('viewer'), ['subscribe'])));
        perHost[Math.floor(index / nodes.length) % hosts.length]!.push({ url: node.url, tokens, reference: node === nodeA });
      }
      await Promise.all(
        hosts.map(async (host, index) => {
          if (perHost[index]!.length === 0) return;
          host.send({ type: 'join', viewers: perHost[index]!, batch: JOIN_BATCH, awaitMedia });
          await host.next('joined');
        }),
      );
    };
    // A producer crosses only to a node where the meeting has a room: one viewer on each first.
    // (Those on B and C receive only once the relays below are open.)
    await viewersOf(0, Math.min(3, VIEWERS), false);
    await relay(meetingId, nodeA, nodeB, producerIds, hops);
    await relay(meetingId, nodeA, nodeC, producerIds, hops);
    await Promise.all(
      hosts.map(async (host) => {
        host.send({ type: 'check' });
        await host.next('joined');
      }),
    );
    const joinStarted = performance.now();
    await viewersOf(3, VIEWERS, true);
    console.log(`  ${VIEWERS} viewers joined in ${((performance.now() - joinStarted) / 1000).toFixed(1)} s`);
    const receiving = () => hosts.reduce((sum, host) => sum + host.receiving, 0);
    const rejoined = () => hosts.reduce((sum, host) => sum + host.rejoined, 0);
    const gaveUp = () => hosts.reduce((sum, host) => sum + host.gaveUp, 0);
    const progress = setInterval(() => console.log(`  ${receiving()} of ${VIEWERS} viewers receive audio and video (${rejoined()} joined again)`), 10_000);
    try {
      await until('every viewer to receive audio and video', () => receiving() + gaveUp() >= VIEWERS, Math.max(60_000, VIEWERS * 200));
    } finally {
      clearInterval(progress);
    }

    console.log(
      `  ${receiving()} viewers receive; ${rejoined()} joined again because their media had not started within ${MEDIA_WITHIN_MS / 1000} s` +
        (gaveUp() > 0 ? `; ${gaveUp()} never received media in ${JOIN_ATTEMPTS} joins (they stay in: their packets count as lost)` : ''),
    );
    const from = epochNow() + 1_000;
    const to = from + SECONDS * 1_000;
    for (const host of hosts) host.send({ type: 'window', from, to });
    await sleep(from - epochNow());
    const socketOwners = [...nodes.map((node) => node.spawned.workerPids), hosts.map((host) => host.child.pid!), [process.pid]];
    const dropsBefore = await udpDropsByPid(socketOwners.flat());
    const cpuBefore = await Promise.all(nodes.map(nodeCpu));
    const hostCpuBefore = await Promise.all(hosts.map((host) => cpuSeconds(host.child.pid!)));
    const cpuStarted = performance.now();
    await sleep(to - epochNow());
    const cpuAfter = await Promise.all(nodes.map(nodeCpu));
    const hostCpu = (await Promise.all(hosts.map((host) => cpuSeconds(host.child.pid!)))).map((seconds, index) => seconds - hostCpuBefore[index]!);
    const dropsAfter = await udpDropsByPid(socketOwners.flat());
    const dropped = socketOwners.map((pids) => pids.reduce((sum, pid) => sum + (dropsAfter.get(pid) ?? 0) - (dropsBefore.get(pid) ?? 0), 0));
    const cpuWindow = (performance.now() - cpuStarted) / 1000;
    const windowPackets = sent.filter(({ stamp }) => stamp >= from && stamp < to).map(({ key }) => key);
    const results = await Promise.all(
      hosts.map(async (host) => {
        host.send({ type: 'collect', packets: windowPackets });
        return host.next('result');
      }),
    );
    const received = results.reduce((sum, result) => sum + result.received, 0);
    const expected = windowPackets.length * VIEWERS;
    // A packet delivered twice to a viewer would hide another's loss: say so rather than count it.
    if (received > expected) console.warn(`  warning: ${received - expected} more deliveries than packets × viewers (duplicates)`);
    const lossPct = expected > 0 ? Math.max(0, (100 * (expected - received)) / expected) : 0;
    const added = results.flatMap((result) => result.added).sort((a, b) => a - b);
    const reference = results.flatMap((result) => result.reference).sort((a, b) => a - b);
    const pctOfCore = (seconds: number) => round((100 * seconds) / cpuWindow, 1);
    const workerPct = nodes.map((_, index) => pctOfCore(cpuAfter[index]!.workers - cpuBefore[index]!.workers));
    const processPct = nodes.map((_, index) => pctOfCore(cpuAfter[index]!.process - cpuBefore[index]!.process));
    const cpuPerNodePct = nodes.map((_, index) => round(workerPct[index]! + processPct[index]!, 1));
    console.log(`  presenter sent ${windowPackets.length} packets in the ${SECONDS} s window (${(windowPackets.length / SECONDS).toFixed(0)}/s of 80/s); viewers received ${received} of ${expected} (loss ${lossPct.toFixed(2)} %)`);
    console.log(
      `  delay on node A (reference): p50 ${percentile(reference, 50).toFixed(1)} ms, p95 ${percentile(reference, 95).toFixed(1)} ms; ` +
        `added by the relay hop: p50 ${percentile(added, 50).toFixed(1)} ms, p95 ${percentile(added, 95).toFixed(1)} ms (${added.length} deliveries)`,
    );
    const byKind = (kind: 'audio' | 'video') => {
      const expectedOfKind = windowPackets.filter((key) => key % 2 === (kind === 'video' ? 1 : 0)).length * VIEWERS;
      const got = results.reduce((sum, result) => sum + result.receivedByKind[kind], 0);
      return `${kind} ${expectedOfKind > 0 ? ((100 * (expectedOfKind - got)) / expectedOfKind).toFixed(2) : 0} %`;
    };
    console.log(`  loss by kind: ${byKind('audio')}, ${byKind('video')}; viewers that received nothing in the window: ${results.reduce((sum, result) => sum + result.silentViewers, 0)}`);
    const droppedAt = [...nodes.map((node) => `${node.nodeId}'s worker`), 'viewer processes', 'this process (presenter, hop relays, STUN)'];
    console.log(`  UDP datagrams the kernel dropped at full receive buffers in the window: ${droppedAt.map((owner, index) => `${owner} ${dropped[index]}`).join(', ')}`);
    const hostSeconds = hostCpu.reduce((a, b) => a + b, 0);
    console.log(
      `  viewer processes' CPU (% of a core): ${hostCpu.map((seconds) => pctOfCore(seconds)).join(', ')}; ${((1e6 * hostSeconds) / Math.max(1, received)).toFixed(1)} µs per packet received`,
    );
    const loopDelays = results.map((result) => result.loopDelayP95Ms.toFixed(0)).join(', ');
    console.log(`  viewer processes' event-loop delay p95: ${loopDelays} ms (tens of ms and more: the receivers, not the nodes, limit loss and delay)`);
    console.log(
      `  CPU per node (% of a core, mediasoup worker + Node process): ${nodes.map((node, index) => `${node.nodeId} (${node.region}) ${cpuPerNodePct[index]} (${workerPct[index]} + ${processPct[index]})`).join(', ')}; load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    // A run where no sampled packet reached both a relayed viewer and node A's viewers has no delay to report.
    if (added.length === 0) throw new Error('webinar bench: no sampled packet of the window reached both a relayed viewer and a viewer on node A');
    const result = webinarResultSchema.parse({
      viewers: VIEWERS,
      nodes: nodes.length,
      regions: new Set(nodes.map((node) => node.region)).size,
      lossPct: round(lossPct, 2),
      addedLatencyMsP95: round(percentile(added, 95), 1),
      cpuPerNodePct,
    });
    if (!args['no-write']) {
      await mkdir(RESULTS_DIR, { recursive: true });
      const file = path.join(RESULTS_DIR, 'webinar.json');
      await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
    console.log(JSON.stringify(result));
    return 0;
  } catch (error) {
    console.error(error);
    return 1;
  } finally {
    for (const host of hosts) if (host.child.connected) host.send({ type: 'close' });
    await Promise.all(hosts.map((host) => (host.child.exitCode === null ? Promise.race([once(host.child, 'exit'), sleep(10_000)]) : undefined)));
    for (const host of hosts) if (host.child.exitCode === null) host.child.kill('SIGKILL');
    await presenter?.close();
    for (const node of nodes) {
      node.spawned.child.kill('SIGTERM');
      node.spawned.child.kill('SIGTERM'); // a second SIGTERM exits at once (no drain)
    }
    await Promise.all(nodes.map(async (node) => ((await node.spawned.waitExit(10_000)) === 'timeout' ? node.spawned.kill() : undefined)));
    await Promise.allSettled(nodes.map((node) => node.edge.stop()));
    await Promise.allSettled(hops.map((hop) => hop.close()));
  }
}

// werift peers leave handles behind: the figures are out, so end here.
process.exit(await main());
