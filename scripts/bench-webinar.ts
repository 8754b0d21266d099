/**
 * `npm run bench:webinar [-- --viewers 60 --seconds 10 --procs N --no-write]` (issue 14, webinars)
 * One presenter and N receive-only viewers over three real media node processes in two regions
 * (A and B in London, C in Frankfurt), each node with a fake edge for its control socket. The
 * presenter (werift, Opus + VP8 RTP, 80 packets/s) publishes on node A; its producers are relayed
 * A → B and A → C with the cascade commands exactly as the RoomDO sends them (docs/cascading.md).
 * The viewers (werift, WebRTC over ICE/DTLS/SRTP) are spread round-robin over the three nodes and
 * run in viewer processes of their own (`--procs`, default one per 150 viewers, at most 4), so
 * the presenter's clock and sending do not wait behind their decryption.
 *
 * Each payload carries its send time. Over one window, once every viewer receives:
 *   lossPct            1 − deliveries of the packets sent in the window ÷ (those packets × viewers)
 *   addedLatencyMsP95  per packet, a relayed viewer's delay minus the median delay of node A's
 *                      viewers (same process, same clock) for that same packet, p95: the cost of
 *                      one relay hop, against the reference measured in the same run
 *   cpuPerNodePct      CPU of each node (its Node process and its mediasoup worker), % of a core
 * Everything shares this box's cores: with many viewers their event loops add to every delay,
 * which the per-packet pairing against node A's viewers cancels only in part.
 * Writes bench-results/webinar.json { viewers, nodes, regions, lossPct, addedLatencyMsP95, cpuPerNodePct }.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { NodeCommand, NodeCommandData, RegionId } from '../schema/wire/index.js';
import { FakeEdge, nodeCredential } from '../media-node/test/fake-edge.js';
import { TestTokenIssuer, newMeetingId, newParticipantId } from '../media-node/test/peers/tokens.js';
import { WeriftPeer } from '../media-node/test/peers/werift-peer.js';
import { spawnMediaNode, type SpawnedNode } from '../media-node/test/spawn-node.js';
import { cpuSeconds } from './bench/proc.js';
import { RESULTS_DIR } from './bench/results.js';
import { median, percentile, round, sleep } from './bench/stats.js';

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '10' },
    'join-batch': { type: 'string', default: '10' },
    /** Viewer processes; default one per 150 viewers, at most 4. */
    procs: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'viewer-host': { type: 'boolean', default: false },
  },
});
const VIEWERS = Number(args.viewers);
const SECONDS = Number(args.seconds);
const JOIN_BATCH = Number(args['join-batch']);
const PROCS = args.procs !== undefined ? Number(args.procs) : Math.min(4, Math.max(1, Math.ceil(VIEWERS / 150)));
/** After the window, packets of it still on their way count as received, not lost: waited for up to this long. */
const MAX_GRACE_MS = 20_000;
const SECRET = 'bench-webinar-node-secret';

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

/** The RoomDO's relay of one producer from `from` to `to` (pipe opened and connected once). */
async function relay(meetingId: string, from: BenchNode, to: BenchNode, producerIds: string[]): Promise<void> {
  const [endFrom, endTo] = await Promise.all([
    from.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: to.nodeId }),
    to.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: from.nodeId }),
  ]);
  if (endFrom?.kind !== 'pipeEnd' || endTo?.kind !== 'pipeEnd') throw new Error('cascadeOpenPipe answers a pipe end');
  await Promise.all([
    from.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: to.nodeId, remote: endTo.pipe }),
    to.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: from.nodeId, remote: endFrom.pipe }),
  ]);
  for (const producerId of producerIds) {
    const sent = await from.command({ command: 'cascadeSendProducer', meetingId, peerNodeId: to.nodeId, producerId });
    if (sent?.kind !== 'relayedProducer') throw new Error('cascadeSendProducer answers a relayed producer');
    await to.command({ command: 'cascadeReceiveProducer', meetingId, peerNodeId: from.nodeId, producer: sent.producer });
  }
}

/** Epoch ms with sub-ms precision: comparable across this process and the viewer hosts. */
const epochNow = () => performance.timeOrigin + performance.now();

type ToHost =
  | { type: 'join'; viewers: { url: string; token: string; reference: boolean }[]; batch: number }
  | { type: 'window'; from: number; to: number }
  | { type: 'collect' }
  | { type: 'close' };
type FromHost =
  | { type: 'joined'; count: number }
  | { type: 'status'; receiving: number; received: number }
  | { type: 'result'; received: number; added: number[]; reference: number[]; loopDelayP95Ms: number }
  | { type: 'failed'; error: string };

/**
 * A viewer host (a child process: the receivers' decryption is the bench's heaviest work, and the
 * presenter must not wait behind it). Per packet sent inside the window (its payload carries its
 * send time), it counts deliveries and compares each relayed viewer's delay with the median delay
 * of this host's viewers on the presenter's node for that same packet: both read the same clock,
 * so the presenter's clock and this one need not agree.
 */
async function viewerHost(): Promise<void> {
  const viewers: WeriftPeer[] = [];
  let window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
  let received = 0;
  const reference = new Map<number, number[]>();
  const relayed: [number, number][] = [];
  const send = (message: FromHost) => process.send?.(message);
  const record = (payload: Buffer, onPresenterNode: boolean) => {
    if (payload.length < 8) return;
    const stamp = payload.readDoubleBE(payload.length - 8);
    if (!(stamp >= window.from && stamp < window.to)) return;
    received++;
    const delay = epochNow() - stamp;
    if (!onPresenterNode) relayed.push([stamp, delay]);
    else if (reference.has(stamp)) reference.get(stamp)!.push(delay);
    else reference.set(stamp, [delay]);
  };
  // The receivers' own lag: when it grows, they (not the nodes) limit the figures.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  setInterval(() => {
    const receiving = viewers.filter((viewer) => [...viewer.received.values()].filter((track) => track.packets > 0).length >= 2).length;
    send({ type: 'status', receiving, received });
  }, 500);
  process.on('message', (message: ToHost) => {
    void (async () => {
      if (message.type === 'join') {
        for (let index = 0; index < message.viewers.length; index += message.batch) {
          await Promise.all(
            message.viewers.slice(index, index + message.batch).map(async ({ url, token, reference: onPresenterNode }) => {
              const viewer = await WeriftPeer.join({ url, token, receive: true });
              viewer.onRtp = (_consumer, payload) => record(payload, onPresenterNode);
              viewers.push(viewer);
            }),
          );
        }
        send({ type: 'joined', count: viewers.length });
      } else if (message.type === 'window') {
        window = { from: message.from, to: message.to };
        setTimeout(() => loopDelay.enable(), Math.max(0, message.from - epochNow()));
      } else if (message.type === 'collect') {
        const medians = new Map([...reference].map(([stamp, delays]) => [stamp, median(delays)]));
        const added = relayed.flatMap(([stamp, delay]) => (medians.has(stamp) ? [delay - medians.get(stamp)!] : []));
        loopDelay.disable();
        send({ type: 'result', received, added, reference: [...medians.values()], loopDelayP95Ms: loopDelay.percentile(95) / 1e6 });
      } else {
        await Promise.allSettled(viewers.map((viewer) => viewer.close()));
        process.exit(0);
      }
    })().catch((error: unknown) => send({ type: 'failed', error: String(error) }));
  });
}

/** A viewer host as the main process sees it: the latest of each message kind it sent. */
class Host {
  readonly child: ChildProcess;
  receiving = 0;
  /** Deliveries of the window's packets so far. */
  received = 0;
  private readonly waiters: ((message: FromHost) => void)[] = [];
  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--viewer-host'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromHost) => {
      if (message.type === 'status') {
        this.receiving = message.receiving;
        this.received = message.received;
      } else for (const waiter of this.waiters.splice(0)) waiter(message);
    });
  }
  send(message: ToHost): void {
    this.child.send(message);
  }
  /** The host's next answer (joined, result), or its failure. */
  async next<T extends FromHost['type']>(type: T): Promise<Extract<FromHost, { type: T }>> {
    const message = await new Promise<FromHost>((resolve, reject) => {
      this.waiters.push(resolve);
      this.child.once('exit', (code) => reject(new Error(`viewer host exited (${code})`)));
    });
    if (message.type === 'failed') throw new Error(`viewer host failed: ${message.error}`);
    if (message.type !== type) throw new Error(`viewer host answered ${message.type}, expected ${type}`);
    return message as Extract<FromHost, { type: T }>;
  }
}

const nodeCpu = async (node: BenchNode) => (await Promise.all([node.spawned.child.pid!, ...node.spawned.workerPids].map(cpuSeconds))).reduce((a, b) => a + b, 0);

async function main(): Promise<number> {
  const issuer = await TestTokenIssuer.create();
  const nodes: BenchNode[] = [];
  const hosts: Host[] = [];
  let presenter: WeriftPeer | undefined;
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

    presenter = await WeriftPeer.join({ url: nodeA.url, token: await token(nodeA, newParticipantId('presenter'), ['publish']), receive: false });
    const sentStamps: number[] = [];
    presenter.onSent = (_kind, stamp) => sentStamps.push(stamp);
    await presenter.publish({ audio: true, video: true, stamp: true });
    const producerIds = [presenter.producerIds.audio!, presenter.producerIds.video!];

    for (let index = 0; index < PROCS; index++) hosts.push(new Host());
    // Viewer i watches node i mod 3 from host ⌊i/3⌋ mod PROCS: every host has viewers on every node.
    const viewersOf = async (from: number, to: number) => {
      const perHost = hosts.map(() => [] as { url: string; token: string; reference: boolean }[]);
      for (let index = from; index < to; index++) {
        const node = nodes[index % nodes.length]!;
        perHost[Math.floor(index / nodes.length) % hosts.length]!.push({ url: node.url, token: await token(node, newParticipantId('viewer'), ['subscribe']), reference: node === nodeA });
      }
      await Promise.all(
        hosts.map(async (host, index) => {
          if (perHost[index]!.length === 0) return;
          host.send({ type: 'join', viewers: perHost[index]!, batch: JOIN_BATCH });
          await host.next('joined');
        }),
      );
    };
    // A producer crosses only to a node where the meeting has a room: one viewer on each first.
    await viewersOf(0, Math.min(3, VIEWERS));
    await relay(meetingId, nodeA, nodeB, producerIds);
    await relay(meetingId, nodeA, nodeC, producerIds);
    const joinStarted = performance.now();
    await viewersOf(3, VIEWERS);
    console.log(`  ${VIEWERS} viewers joined in ${((performance.now() - joinStarted) / 1000).toFixed(1)} s`);
    const receiving = () => hosts.reduce((sum, host) => sum + host.receiving, 0);
    await until('every viewer to receive audio and video', () => receiving() >= VIEWERS, Math.max(60_000, VIEWERS * 200));

    const from = epochNow() + 1_000;
    const to = from + SECONDS * 1_000;
    for (const host of hosts) host.send({ type: 'window', from, to });
    await sleep(from - epochNow());
    const cpuBefore = await Promise.all(nodes.map(nodeCpu));
    const cpuStarted = performance.now();
    await sleep(to - epochNow());
    const cpuAfter = await Promise.all(nodes.map(nodeCpu));
    const cpuWindow = (performance.now() - cpuStarted) / 1000;
    // Late packets of the window still count (loss is what never arrives): collect once deliveries stop growing.
    const delivered = () => hosts.reduce((sum, host) => sum + host.received, 0);
    for (let last = -1, waited = 0; waited < MAX_GRACE_MS && delivered() !== last; waited += 1_000) {
      last = delivered();
      await sleep(1_000);
    }
    const results = await Promise.all(
      hosts.map(async (host) => {
        host.send({ type: 'collect' });
        return host.next('result');
      }),
    );
    const sent = sentStamps.filter((stamp) => stamp >= from && stamp < to).length;
    const received = results.reduce((sum, result) => sum + result.received, 0);
    const expected = sent * VIEWERS;
    const lossPct = expected > 0 ? Math.max(0, (100 * (expected - received)) / expected) : 0;
    const added = results.flatMap((result) => result.added).sort((a, b) => a - b);
    const reference = results.flatMap((result) => result.reference).sort((a, b) => a - b);
    const cpuPerNodePct = nodes.map((_, index) => round((100 * (cpuAfter[index]! - cpuBefore[index]!)) / cpuWindow, 1));
    const result = webinarResultSchema.parse({
      viewers: VIEWERS,
      nodes: nodes.length,
      regions: new Set(nodes.map((node) => node.region)).size,
      lossPct: round(lossPct, 2),
      addedLatencyMsP95: round(percentile(added, 95), 1),
      cpuPerNodePct,
    });
    console.log(`  presenter sent ${sent} packets in the ${SECONDS} s window (${(sent / SECONDS).toFixed(0)}/s of 80/s); viewers received ${received} of ${expected} (loss ${lossPct.toFixed(2)} %)`);
    console.log(
      `  delay on node A (reference): p50 ${percentile(reference, 50).toFixed(1)} ms, p95 ${percentile(reference, 95).toFixed(1)} ms; ` +
        `added by the relay hop: p50 ${percentile(added, 50).toFixed(1)} ms, p95 ${percentile(added, 95).toFixed(1)} ms (${added.length} deliveries)`,
    );
    const loopDelays = results.map((result) => result.loopDelayP95Ms.toFixed(0)).join(', ');
    console.log(`  viewer processes' event-loop delay p95: ${loopDelays} ms (tens of ms and more: the receivers, not the nodes, limit loss and delay)`);
    console.log(`  CPU per node (% of a core): ${nodes.map((node, index) => `${node.nodeId} (${node.region}) ${cpuPerNodePct[index]}`).join(', ')}; load ${os.loadavg()[0]!.toFixed(1)}`);
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
  }
}

if (process.argv.includes('--viewer-host')) {
  await viewerHost();
} else {
  // werift peers leave handles behind: the figures are out, so end here.
  process.exit(await main());
}
