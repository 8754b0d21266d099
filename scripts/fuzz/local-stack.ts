/**
 * What `npm run fuzz` runs against, on loopback: the edge Worker in Miniflare (bundled like
 * scripts/bench-join.ts does; no Postgres on the room paths) and, when a mediasoup worker binary
 * is there, one real media node registered with it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { Miniflare } from 'miniflare';
import WebSocket from 'ws';
import { roomSocketProtocols } from '../../schema/wire/http.js';
import { MEDIA_TOKEN_ALG } from '../../schema/wire/media-token.js';
import type { RegionId } from '../../schema/regions.js';
import { regionNodeCredential } from '../node-credential.js';
import type { FuzzSocket, JoinAnswer, RoomTarget } from './room-fuzz.js';
import { edgeResources, wranglerCompat } from '../miniflare-edge.js';

const QUIET = { WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };
export const FUZZ_REGION: RegionId = 'lon';

/** A `ws` client as the harness's socket: frames parsed when JSON, the close code once closed. */
export function wsSocket(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<FuzzSocket> {
  const ws = new WebSocket(url, protocols, { headers, maxPayload: 1024 * 1024 });
  const received: unknown[] = [];
  let closeCode: number | null = null;
  ws.on('message', (raw) => {
    const text = raw.toString();
    try {
      received.push(JSON.parse(text));
    } catch {
      received.push(text);
    }
  });
  ws.on('close', (code) => (closeCode = code));
  const socket: FuzzSocket = {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    received,
    closeCode: () => closeCode,
    close: () => ws.close(1000, 'bye'),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('error', (error) => (ws.readyState === WebSocket.OPEN ? undefined : reject(error)));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
}

export interface LocalEdge {
  origin: string;
  target: RoomTarget;
  secrets: { nodeCredentialSecret: string; mediaTokenPublicJwk: string; mediaTokenPrivateJwk: string; adminToken: string; urlSigningSecret: string };
  dispose(): Promise<void>;
}

type RoomRpc = { configure(settings: unknown): Promise<void>; join(input: unknown): Promise<{ ok: true; value: JoinAnswer } | { ok: false; code: string; message: string }> };

export async function startEdge(root: string): Promise<LocalEdge> {
  const outdir = await mkdtemp(path.join(tmpdir(), 'edgemeet-fuzz-'));
  await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--config', path.join(root, 'wrangler.toml')], {
    cwd: root,
    env: { ...process.env, ...QUIET },
    maxBuffer: 16 * 1024 * 1024,
  });
  const { privateKey, publicKey } = await generateKeyPair(MEDIA_TOKEN_ALG, { extractable: true });
  const secrets = {
    mediaTokenPrivateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), alg: MEDIA_TOKEN_ALG }),
    mediaTokenPublicJwk: JSON.stringify({ ...(await exportJWK(publicKey)), alg: MEDIA_TOKEN_ALG }),
    nodeCredentialSecret: randomBytes(24).toString('hex'),
    adminToken: randomBytes(16).toString('hex'),
    urlSigningSecret: randomBytes(16).toString('hex'),
  };
  const mf = new Miniflare({
    modules: true,
    modulesRoot: outdir,
    scriptPath: path.join(outdir, 'worker.js'),
    ...wranglerCompat(),
    ...edgeResources(),
    bindings: {
      MEDIA_TOKEN_PRIVATE_JWK: secrets.mediaTokenPrivateJwk,
      NODE_CREDENTIAL_SECRET: secrets.nodeCredentialSecret,
      ADMIN_TOKEN: secrets.adminToken,
      URL_SIGNING_SECRET: secrets.urlSigningSecret,
      DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      DEFAULT_REGION: FUZZ_REGION,
    },
    cf: false,
    host: '127.0.0.1',
    port: 0,
  });
  const base = await mf.ready;
  const rooms = await mf.getDurableObjectNamespace('ROOM');
  /** One RPC on a RoomDO through Miniflare's proxy; the stub is disposed after it. */
  const onRoom = async <T>(linkId: string, call: (stub: RoomRpc) => Promise<T>): Promise<T> => {
    const stub = rooms.get(rooms.idFromName(linkId)) as unknown as RoomRpc & Partial<Disposable>;
    try {
      return await call(stub);
    } finally {
      stub[Symbol.dispose]?.();
    }
  };
  const target: RoomTarget = {
    configure: (settings) => onRoom(settings.linkId, (stub) => stub.configure(settings)),
    join: async (linkId, input) => {
      const result = await onRoom(linkId, (stub) => stub.join(input));
      if (result.ok) return result.value;
      // Why placement refused, when it did: the fleet's view of the region.
      const fleet = result.code === 'NO_MEDIA_CAPACITY' ? await fleetView(base.origin, secrets.adminToken) : '';
      throw new Error(`join refused: ${result.code} ${result.message} ${fleet}`);
    },
    connect: (linkId, session) => wsSocket(`ws://${base.host}/api/meetings/${linkId}/ws`, {}, roomSocketProtocols(session)),
    alive: async () => {
      try {
        const response = await fetch(`${base.origin}/api/meetings/bad/join`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5_000) });
        await response.text();
        return response.status === 400;
      } catch {
        return false;
      }
    },
    secrets: [secrets.nodeCredentialSecret, secrets.adminToken, secrets.urlSigningSecret, JSON.parse(secrets.mediaTokenPrivateJwk).d as string],
    regions: [FUZZ_REGION],
  };
  return {
    origin: base.origin,
    target,
    secrets,
    dispose: async () => {
      await mf.dispose();
      await rm(outdir, { recursive: true, force: true });
    },
  };
}

async function fleetView(origin: string, adminToken: string): Promise<string> {
  try {
    const response = await fetch(`${origin}/api/fleet/regions`, { headers: { Authorization: `Bearer ${adminToken}` } });
    const body = (await response.json()) as { regions?: { id: string; nodes: { nodeId: string; state: string; excludedBecause?: string[]; load?: unknown }[] }[] };
    return JSON.stringify(body.regions?.filter((r) => r.id === FUZZ_REGION).map((r) => r.nodes.map((n) => ({ nodeId: n.nodeId, state: n.state, excludedBecause: n.excludedBecause, load: n.load }))));
  } catch (error) {
    return `(fleet unknown: ${(error as Error).message})`;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface LocalNode {
  nodeId: string;
  url: string;
  exited(): boolean;
  healthy(): Promise<boolean>;
  output(): string;
  stop(): Promise<void>;
}

/** The mediasoup worker binary setup built, or null (the fuzz then covers the room socket only). */
export function workerBinary(root: string): string | null {
  const bin = process.env.MEDIASOUP_WORKER_BIN || path.join(root, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
  return existsSync(bin) ? bin : null;
}

/** One real media node (one mediasoup worker, no recording) registered with the edge. */
export async function startNode(root: string, edge: LocalEdge, bin: string): Promise<LocalNode> {
  const nodeId = `fuzz-node-${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'media-node/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      MEDIASOUP_WORKER_BIN: bin,
      NODE_ID: nodeId,
      REGION: FUZZ_REGION,
      EDGE_URL: edge.origin,
      NODE_CREDENTIAL: regionNodeCredential(edge.secrets.nodeCredentialSecret, nodeId, FUZZ_REGION),
      MEDIA_TOKEN_PUBLIC_JWK: edge.secrets.mediaTokenPublicJwk,
      LISTEN_HOST: '127.0.0.1',
      LISTEN_PORT: String(port),
      RTC_MIN_PORT: '0',
      NUM_WORKERS: '1',
      // Discarded fixtures keep their rooms placed for a minute: room for many, as placement reserves per room.
      CONSUMERS_PER_WORKER: '1000000',
      RECORDING_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const node: LocalNode = {
    nodeId,
    url,
    exited: () => exited,
    healthy: async () => {
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
        await response.text();
        return response.status === 200;
      } catch {
        return false;
      }
    },
    output: () => output,
    stop: async () => {
      if (exited) return;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
  // Serving, and registered: the edge places a meeting on it.
  const deadline = Date.now() + 60_000;
  while (!(await node.healthy())) {
    if (exited || Date.now() > deadline) throw new Error(`the media node did not start:\n${output.slice(-2_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return node;
}

/**
 * Without a mediasoup worker: a stand-in node on the real control socket (hello, heartbeats; it
 * takes commands without acting on them), so that meetings can be placed and the room socket fuzzed.
 */
export async function startStandInNode(edge: LocalEdge): Promise<{ stop(): void }> {
  const nodeId = `fuzz-standin-${randomBytes(3).toString('hex')}`;
  const load = () => ({
    workersAlive: 1, workersTotal: 1, rooms: 0, participants: 0, transports: 0, producers: 0, consumers: 0,
    consumerCapacity: 1_000_000, cpuPerWorker: [0.1], bitrateInKbps: 0, bitrateOutKbps: 0, packetLoss: 0, recordings: 0,
  });
  const ws = new WebSocket(`${edge.origin.replace(/^http/, 'ws')}/api/nodes/connect?region=${FUZZ_REGION}`, {
    headers: { Authorization: `Bearer ${regionNodeCredential(edge.secrets.nodeCredentialSecret, nodeId, FUZZ_REGION)}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'hello',
          node: { nodeId, region: FUZZ_REGION, signalingUrl: 'ws://127.0.0.1:9', announcedAddress: '127.0.0.1', rtcPorts: [{ protocol: 'udp', port: 40000 }], version: 'fuzz' },
          state: 'serving',
          load: load(),
        }),
      ),
    );
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type: string; commandId?: string };
      if (message.type === 'welcome') resolve();
      if (message.type === 'command') ws.send(JSON.stringify({ type: 'commandResult', commandId: message.commandId, ok: true }));
    });
  });
  const beat = setInterval(() => ws.send(JSON.stringify({ type: 'heartbeat', nodeId, state: 'serving', load: load(), sentAt: Date.now() })), 1_000);
  return {
    stop: () => {
      clearInterval(beat);
      ws.close();
    },
  };
}
