import os from 'node:os';
import path from 'node:path';
import type { RegionId } from '../../schema/regions.js';
import type { FleetClient, ListedNode } from '../fleet/client.js';
import type { NodeSpec } from './node-layout.js';
import { freePort, portOr } from './ports.js';
import { spawnChild, waitUntil, type Child } from './processes.js';

/** One local media node of the stack: what a test needs to find, fault and restart it. */
export interface MediaNodeHandle {
  readonly nodeId: string;
  readonly region: RegionId;
  /** http://127.0.0.1:<port>: /health, /metrics. */
  readonly url: string;
  readonly signalingUrl: string;
  readonly recordingsDir: string;
  readonly logFile: string;
  /** PID of the node's current process; its mediasoup workers run in its process group. */
  readonly pid: number;
  readonly running: boolean;
  /** Exit code of the current process (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /**
   * Signals the node's process group — the node and its mediasoup workers, as if the VM had
   * crashed (SIGKILL), frozen (SIGSTOP) or been resumed (SIGCONT); SIGTERM drains it.
   */
  signal(signal: NodeJS.Signals): void;
  /** Drain-then-exit (SIGTERM twice), SIGKILL after a grace period. Resumes a stopped node first. */
  stop(): Promise<void>;
  /** Starts the node again after it exited (same id, ports, folders); resolves once it said hello. */
  restart(): Promise<void>;
}

export interface MediaNodeContext {
  root: string;
  dataDir: string;
  logDir: string;
  edgeUrl: string;
  fleet: FleetClient;
  env: NodeJS.ProcessEnv;
  /** The node's NODE_CREDENTIAL, minted from the stack's secret and bound to the node's region. */
  credentialFor: (nodeId: string, region: RegionId) => string;
  mediaTokenPublicJwk: string;
  /** mediasoup workers per node; 0 = one per core. */
  workers: number;
  echo: boolean;
  say: (line: string) => void;
  /** Gives up waiting for registration (the stack is being stopped while it starts). */
  signal?: AbortSignal;
}

/** A node of the layout with the ports it listens on. */
export interface PlannedNode extends NodeSpec {
  listenPort: number;
  /** 0 = the node picks free ports itself. */
  rtcMinPort: number;
}

/**
 * Ports for each node: signaling from `mediaPort` upwards (the next free one when taken; 0 = any),
 * RTC ranges from `rtcMinPort` in steps of the node's worker count (0 = free ports per node).
 */
export async function allocateNodePorts(layout: readonly NodeSpec[], mediaPort: number, rtcMinPort: number, workers: number): Promise<PlannedNode[]> {
  const taken = new Set<number>();
  const rtcStride = workers > 0 ? workers : os.availableParallelism();
  const planned: PlannedNode[] = [];
  for (const [index, spec] of layout.entries()) {
    let listenPort = await portOr(mediaPort === 0 ? 0 : mediaPort + index);
    while (taken.has(listenPort)) listenPort = await freePort();
    taken.add(listenPort);
    planned.push({ ...spec, listenPort, rtcMinPort: rtcMinPort === 0 ? 0 : rtcMinPort + index * rtcStride });
  }
  return planned;
}

/**
 * Spawns a node; `registered` settles once it is healthy and has said hello to its region's
 * registry. The handle exists at once, so a caller can stop it even when registration fails.
 */
export function launchMediaNode(spec: PlannedNode, context: MediaNodeContext): { handle: MediaNodeHandle; registered: Promise<void> } {
  const url = `http://127.0.0.1:${spec.listenPort}`;
  const signalingUrl = `ws://127.0.0.1:${spec.listenPort}`;
  const recordingsDir = path.join(context.dataDir, 'recordings', spec.nodeId);
  const env = {
    ...context.env,
    NODE_ID: spec.nodeId,
    REGION: spec.region,
    EDGE_URL: context.edgeUrl,
    NODE_CREDENTIAL: context.credentialFor(spec.nodeId, spec.region),
    MEDIA_TOKEN_PUBLIC_JWK: context.mediaTokenPublicJwk,
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: String(spec.listenPort),
    SIGNALING_URL: signalingUrl,
    RTC_LISTEN_IP: '127.0.0.1',
    ANNOUNCED_ADDRESS: '127.0.0.1',
    RTC_MIN_PORT: String(spec.rtcMinPort),
    NUM_WORKERS: String(context.workers),
    RECORDINGS_DIR: recordingsDir,
    // EDGEMEET_NODE_LOG_LEVEL=debug: the recorder's and rooms' timing lines, when chasing a delay.
    LOG_LEVEL: process.env.EDGEMEET_NODE_LOG_LEVEL ?? 'info',
  };
  const spawn = () =>
    spawnChild({ name: spec.nodeId, command: process.execPath, args: ['--import', 'tsx', 'media-node/main.ts'], cwd: context.root, env, logDir: context.logDir, echo: context.echo });

  let child: Child = spawn();
  const handle: MediaNodeHandle = {
    nodeId: spec.nodeId,
    region: spec.region,
    url,
    signalingUrl,
    recordingsDir,
    logFile: child.logFile,
    get pid() {
      return child.process.pid ?? -1;
    },
    get running() {
      return child.running;
    },
    get exited() {
      return child.exited;
    },
    signal: (signal) => child.signal(signal),
    stop: async () => {
      if (child.running) context.say(`Media node ${spec.nodeId}: stopping`);
      // First SIGTERM drains the node, the second exits it.
      await child.stop({ signalsBeforeKill: 2 });
    },
    restart: async () => {
      if (child.running) throw new Error(`media node ${spec.nodeId} is still running (pid ${child.process.pid})`);
      child = spawn();
      await untilRegistered(spec, child, url, context);
    },
  };
  context.say(`Media node ${spec.nodeId}: starting on ${url} (region ${spec.region})…`);
  return { handle, registered: untilRegistered(spec, child, url, context) };
}

/** Healthy over HTTP, then a hello since this process started (a stale entry from before does not count). */
async function untilRegistered(spec: NodeSpec, child: Child, url: string, context: MediaNodeContext): Promise<void> {
  const spawnedAt = Date.now();
  await waitUntil(`media node ${spec.nodeId}`, async () => (await fetch(`${url}/health`)).ok, { timeoutMs: 60_000, child, signal: context.signal });
  const found: { node?: ListedNode } = {};
  await waitUntil(
    `media node ${spec.nodeId} registration`,
    async () => {
      found.node = (await context.fleet.nodes()).find((node) => node.nodeId === spec.nodeId && node.state !== 'down' && node.lastHeartbeatAt >= spawnedAt);
      return found.node !== undefined;
    },
    { timeoutMs: 30_000, child, intervalMs: 300, signal: context.signal },
  );
  // The registry remembers an operator's drain across restarts (persisted edge state).
  if (found.node?.state === 'draining') {
    context.say(`Media node ${spec.nodeId}: healthy in region ${spec.region}, but drained by an earlier \`fleet drain\` (the edge keeps that): it takes no new meetings`);
  } else context.say(`Media node ${spec.nodeId}: healthy and serving in region ${spec.region}`);
  void child.exited.then((code) => {
    if (child.stopping) return;
    context.say(`Media node ${spec.nodeId}: exited (${code === null ? 'by a signal' : `code ${code}`}); logs: ${child.logFile}`);
  });
}
