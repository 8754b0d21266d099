/**
 * The edge Worker in a local Miniflare for benchmarks (no Postgres on these paths): bundled with
 * `wrangler deploy --dry-run`, one fake media node on the real control socket (so joins can be
 * placed), meetings configured straight on their RoomDOs as the meetings routes do.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import WebSocket from 'ws';
import { joinResponseSchema, roomSocketProtocols, type JoinResponse } from '../../schema/wire/index.js';
import { ROOT } from './results.js';
import { edgeResources, wranglerCompat } from '../miniflare-edge.js';
import { regionNodeCredential } from '../node-credential.js';
import { COUNTERS_PATH, COUNTING_ENTRY, type OpCounters } from './op-counters.js';

export const QUIET_WRANGLER = { WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };

async function bundle(outdir: string, tree = ROOT): Promise<string> {
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--config', path.join(tree, 'wrangler.toml')], {
    cwd: tree,
    env: { ...process.env, ...QUIET_WRANGLER },
    maxBuffer: 16 * 1024 * 1024,
  });
  return path.join(outdir, 'worker.js');
}

export interface BenchEdge {
  mf: Miniflare;
  base: URL;
  /** Configures a meeting on its RoomDO; returns its link id. */
  configure(maxParticipants: number): Promise<string>;
  /** A guest join (POST /api/meetings/:link/join); throws unless 200. */
  join(linkId: string, displayName: string): Promise<JoinResponse>;
  /** The room socket for a join: its URL (no secret in it) and the subprotocols carrying the session. */
  roomSocket(linkId: string, join: JoinResponse): { url: string; protocols: string[] };
  /** The meeting's RoomDO storage in bytes (needs `weighRooms`). */
  roomStorageBytes(linkId: string): Promise<number>;
  /** What the Worker and the Durable Objects did since the last reset (needs `countOps`); resets them. */
  takeCounters(): Promise<OpCounters>;
  /** Registers the fake media node (call after configuring: Miniflare's proxy blocks this thread). */
  connectNode(): Promise<void>;
  close(): Promise<void>;
}

export interface BenchEdgeOptions {
  /**
   * Run the RoomDO as a subclass with one extra RPC, `benchStorageBytes()` (its SQLite database
   * size: pages × page size), so storage can be weighed without touching the product.
   */
  weighRooms?: boolean;
  /**
   * Run the Worker, RoomDO and RegionDO wrapped in counters of storage operations, sub-requests
   * and time (bench/op-counters.ts); read with `takeCounters()`. Diagnostics only: it costs time.
   */
  countOps?: boolean;
  /**
   * Bundle the Worker from another copy of the repository (its wrangler.toml, edge/ and schema/),
   * e.g. the code before a change, to compare both back to back on the same box.
   */
  tree?: string;
  /** workerd's inspector on this port (for a CPU profile: bench/workerd-profile.ts). */
  inspectorPort?: number;
}

/** An entry module around the bundle: everything as is, plus the weighing subclass. */
const WEIGHING_ENTRY = `
import { RoomDO } from './worker.js';
export * from './worker.js';
export { default } from './worker.js';
export class BenchRoomDO extends RoomDO {
  benchStorageBytes() { return this.ctx.storage.sql.databaseSize; }
}
`;

export async function startBenchEdge(options: BenchEdgeOptions = {}): Promise<BenchEdge> {
  const outdir = await mkdtemp(path.join(tmpdir(), 'edgemeet-bench-'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const nodeSecret = randomBytes(24).toString('hex');
  let scriptPath = await bundle(outdir, options.tree);
  if (options.weighRooms && options.countOps) throw new Error('weighRooms and countOps are separate runs');
  if (options.weighRooms || options.countOps) {
    scriptPath = path.join(outdir, 'bench-entry.mjs');
    await writeFile(scriptPath, options.countOps ? COUNTING_ENTRY : WEIGHING_ENTRY);
  }
  const resources = edgeResources(options.weighRooms ? 'BenchRoomDO' : options.countOps ? 'CountingRoomDO' : 'RoomDO');
  if (options.countOps) resources.durableObjects.REGION.className = 'CountingRegionDO';
  const mf = new Miniflare({
    modules: true,
    modulesRoot: outdir,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }],
    scriptPath,
    ...wranglerCompat(),
    ...resources,
    bindings: {
      MEDIA_TOKEN_PRIVATE_JWK: JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'ES256' }),
      NODE_CREDENTIAL_SECRET: nodeSecret,
      ADMIN_TOKEN: randomBytes(16).toString('hex'),
      URL_SIGNING_SECRET: randomBytes(16).toString('hex'),
      DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      DEFAULT_REGION: 'lon',
      NODE_HEARTBEAT_TIMEOUT_MS: '6000',
    },
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    // Every request comes from London, where the bench's node is: Miniflare's stand-in location
    // (cf: false) is Texas, and each first join then asked two empty regions before London.
    cf: { colo: 'LHR', country: 'GB', continent: 'EU', city: 'London', latitude: '51.50720', longitude: '-0.12760', timezone: 'Europe/London' },
    host: '127.0.0.1',
    port: 0,
  });
  const base = await mf.ready;
  const rooms = await mf.getDurableObjectNamespace('ROOM');
  let node: WebSocket | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  return {
    mf,
    base,
    async configure(maxParticipants) {
      const linkId = randomBytes(16).toString('base64url');
      const settings = {
        meetingId: randomUUID(), linkId, title: 'bench', hostUserId: randomUUID(), hostName: 'Bench', passcode: null,
        allowGuests: true, waitingRoom: false, maxParticipants, scheduledStart: null, endedAt: null, version: Date.now(),
      };
      // RPC through Miniflare's proxy, as the meetings routes do after writing Postgres.
      await (rooms.get(rooms.idFromName(linkId)) as unknown as { configure(s: unknown): Promise<void> }).configure(settings);
      return linkId;
    },
    async join(linkId, displayName) {
      const response = await fetch(`${base.origin}/api/meetings/${linkId}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ displayName }),
      });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`join ${response.status}: ${body.slice(0, 200)}`);
      return joinResponseSchema.parse(JSON.parse(body));
    },
    async roomStorageBytes(linkId) {
      return (rooms.get(rooms.idFromName(linkId)) as unknown as { benchStorageBytes(): Promise<number> }).benchStorageBytes();
    },
    async takeCounters() {
      const response = await fetch(`${base.origin}${COUNTERS_PATH}`, { method: 'DELETE' });
      if (!response.ok) throw new Error(`counters ${response.status}: start the edge with countOps`);
      return (await response.json()) as OpCounters;
    },
    roomSocket: (linkId, join) => ({ url: `ws://${base.host}/api/meetings/${linkId}/ws`, protocols: roomSocketProtocols(join.roomSession) }),
    async connectNode() {
      node = await connectFakeNode(base, nodeSecret);
      heartbeat = setInterval(() => node?.send(JSON.stringify({ type: 'heartbeat', nodeId: NODE_ID, state: 'serving', load: load(), sentAt: Date.now() })), 2_000);
    },
    async close() {
      if (heartbeat) clearInterval(heartbeat);
      node?.close();
      await mf.dispose();
      await rm(outdir, { recursive: true, force: true });
    },
  };
}

const NODE_ID = 'bench-node';

function load() {
  return {
    workersAlive: 2, workersTotal: 2, rooms: 0, participants: 0, transports: 0, producers: 0, consumers: 0,
    consumerCapacity: 100_000_000, cpuPerWorker: [0.1, 0.1], bitrateInKbps: 0, bitrateOutKbps: 0, packetLoss: 0, recordings: 0,
  };
}

/** One fake media node on the real control socket, credential derived like an operator would. */
function connectFakeNode(base: URL, secret: string): Promise<WebSocket> {
  const credential = regionNodeCredential(secret, NODE_ID, 'lon');
  const ws = new WebSocket(`ws://${base.host}/api/nodes/connect?region=lon`, { headers: { Authorization: `Bearer ${credential}` } });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'hello',
          node: { nodeId: NODE_ID, region: 'lon', signalingUrl: 'ws://127.0.0.1:4443', announcedAddress: '127.0.0.1', rtcPorts: [{ protocol: 'udp', port: 40000 }], version: 'bench' },
          state: 'serving',
          load: load(),
        }),
      ),
    );
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type: string };
      if (message.type === 'welcome') resolve(ws);
      else if (message.type === 'error') console.error(`edge refused a node message: ${raw.toString().slice(0, 300)}`);
    });
    ws.on('close', (code) => console.error(`node control socket closed: ${code}`));
  });
}
