/**
 * A real media node process (media-node/main.ts, one mediasoup worker) for memory and soak runs,
 * with a test token issuer: its RSS (node + worker processes) and its own object counts from
 * /metrics (served to this host).
 */
import { spawnMediaNode, type SpawnedNode } from '../../media-node/test/spawn-node.js';
import { TestTokenIssuer } from '../../media-node/test/peers/tokens.js';
import { WeriftPeer } from '../../media-node/test/peers/werift-peer.js';
import { rssBytes } from './proc.js';
import { median, sleep } from './stats.js';

const NODE_ID = 'bench-memory-1';

/** The node's object gauges that must all be 0 once every meeting has closed. */
export const OBJECT_GAUGES = ['edgemeet_media_rooms', 'edgemeet_media_participants', 'edgemeet_media_transports', 'edgemeet_media_producers', 'edgemeet_media_consumers'] as const;

export interface BenchNode {
  pids(): number[];
  /** RSS of the node and its worker(s), bytes: the median of `samples` reads 200 ms apart. */
  rss(samples?: number): Promise<number>;
  /** RSS of the node process alone and of its worker(s) alone, bytes (one read). */
  rssParts(): Promise<{ node: number; workers: number }>;
  /** Sum of each object gauge over workers, from /metrics. */
  objects(): Promise<Record<(typeof OBJECT_GAUGES)[number], number>>;
  /** A participant joining `meetingId`: publishes audio + video and receives everyone else. */
  participant(meetingId: string, participantId: string): Promise<WeriftPeer>;
  stop(): Promise<void>;
}

export async function startBenchNode(): Promise<BenchNode> {
  const issuer = await TestTokenIssuer.create();
  const spawned: SpawnedNode = spawnMediaNode({
    NODE_ID,
    REGION: 'lon',
    MEDIA_TOKEN_PUBLIC_JWK: issuer.publicJwk,
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: '0',
    RTC_LISTEN_IP: '127.0.0.1',
    RTC_MIN_PORT: '0',
    NUM_WORKERS: '1',
    // info: the node logs its port and worker pid at start (spawn-node.ts reads them).
    LOG_LEVEL: 'info',
    // A small young generation: with Node's default (up to 16 MB per semi-space) the node's RSS
    // swings by tens of MB with each scavenge, more than the slope this measures; what survives a
    // scavenge, the memory participants hold, is unchanged.
    NODE_OPTIONS: '--max-semi-space-size=1',
  });
  const deadline = Date.now() + 60_000;
  while (spawned.port() === 0 || spawned.workerPids.length === 0) {
    if (Date.now() > deadline || spawned.child.exitCode !== null) {
      spawned.kill();
      throw new Error(`media node did not start:\n${spawned.output().slice(-2000)}`);
    }
    await sleep(100);
  }
  const pids = () => [spawned.child.pid!, ...spawned.workerPids];
  const url = `ws://127.0.0.1:${spawned.port()}`;
  return {
    pids,
    async rss(samples = 5) {
      const reads: number[] = [];
      for (let i = 0; i < samples; i++) {
        reads.push((await Promise.all(pids().map(rssBytes))).reduce((a, b) => a + b, 0));
        if (i < samples - 1) await sleep(200);
      }
      return median(reads);
    },
    async rssParts() {
      const [node = 0, ...workers] = await Promise.all(pids().map(rssBytes));
      return { node, workers: workers.reduce((a, b) => a + b, 0) };
    },
    async objects() {
      const text = await (await fetch(`http://127.0.0.1:${spawned.port()}/metrics`)).text();
      const counts = Object.fromEntries(OBJECT_GAUGES.map((name) => [name, 0])) as Record<(typeof OBJECT_GAUGES)[number], number>;
      for (const line of text.split('\n')) {
        const match = /^(edgemeet_media_\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
        if (match && (OBJECT_GAUGES as readonly string[]).includes(match[1]!)) counts[match[1] as (typeof OBJECT_GAUGES)[number]] += Number(match[2]);
      }
      return counts;
    },
    async participant(meetingId, participantId) {
      const peer = await WeriftPeer.join({ url, token: await issuer.sign({ nodeId: NODE_ID, meetingId, participantId }), receive: true });
      await peer.publish({ audio: true, video: true });
      return peer;
    },
    async stop() {
      spawned.child.kill('SIGTERM');
      spawned.child.kill('SIGTERM'); // a second SIGTERM exits at once (no drain)
      if ((await spawned.waitExit(10_000)) === 'timeout') spawned.kill();
    },
  };
}
