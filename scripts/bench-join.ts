/**
 * Join throughput of the edge (RoomDO + RegionDO) in a local Miniflare — no Postgres on this path.
 *   node --import tsx scripts/bench-join.ts [--meetings 300] [--per-meeting 10] [--concurrency 50]
 * Bundles the Worker (wrangler deploy --dry-run), starts it in Miniflare on a free loopback port,
 * registers one fake media node over the real control socket, configures meetings straight on their
 * RoomDOs, then measures guest joins (POST /api/meetings/:linkId/join):
 *   1. first joins (each places a new meeting on the node through the RegionDO),
 *   2. joins spread over those meetings,
 *   3. joins into one meeting (one Durable Object's ceiling).
 * Figures are for orientation only: client and server share this box's cores; compare each line
 * with the Worker-only baseline printed first.
 */
import { execFile } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import WebSocket from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: { meetings: { type: 'string', default: '300' }, 'per-meeting': { type: 'string', default: '10' }, concurrency: { type: 'string', default: '50' } },
});
const MEETINGS = Number(args.meetings);
const PER_MEETING = Number(args['per-meeting']);
const CONCURRENCY = Number(args.concurrency);
const NODE_SECRET = randomBytes(24).toString('hex');
const QUIET = { WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };

async function bundle(outdir: string): Promise<string> {
  await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--config', path.join(root, 'wrangler.toml')], {
    cwd: root,
    env: { ...process.env, ...QUIET },
    maxBuffer: 16 * 1024 * 1024,
  });
  return path.join(outdir, 'worker.js');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs `total` tasks with at most `concurrency` in flight; reports rate and latency. */
async function measure(label: string, total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        try {
          await task(i);
        } catch (error) {
          failures++;
          if (failures <= 3) console.error(`${label}: ${(error as Error).message} ${String((error as Error).cause ?? '')}`);
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(44)} ${String(total).padStart(5)} joins  c=${String(concurrency).padStart(3)}  ${(total / seconds).toFixed(0).padStart(5)}/s  ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  failures ${failures}`,
  );
}

async function main(): Promise<void> {
  const outdir = await mkdtemp(path.join(tmpdir(), 'edgemeet-bench-'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const mf = new Miniflare({
    modules: true,
    modulesRoot: outdir,
    scriptPath: await bundle(outdir),
    compatibilityDate: '2026-05-01',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: {
      ROOM: { className: 'RoomDO', useSQLite: true },
      REGION: { className: 'RegionDO', useSQLite: true },
      ACCOUNT: { className: 'AccountDO', useSQLite: true },
      LIMITER: { className: 'RateLimiterDO', useSQLite: true },
    },
    queueProducers: { HISTORY: { queueName: 'edgemeet-history' }, HISTORY_DLQ: { queueName: 'edgemeet-history-dlq' } },
    r2Buckets: ['FILES'],
    bindings: {
      MEDIA_TOKEN_PRIVATE_JWK: JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'ES256' }),
      NODE_CREDENTIAL_SECRET: NODE_SECRET,
      ADMIN_TOKEN: randomBytes(16).toString('hex'),
      URL_SIGNING_SECRET: randomBytes(16).toString('hex'),
      DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      DEFAULT_REGION: 'lon',
      NODE_HEARTBEAT_TIMEOUT_MS: '6000',
    },
    cf: false,
    host: '127.0.0.1',
    port: 0,
  });
  const base = await mf.ready;
  let node: WebSocket | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  try {
    const rooms = await mf.getDurableObjectNamespace('ROOM');
    const configure = async (maxParticipants: number) => {
      const linkId = randomBytes(16).toString('base64url');
      const settings = {
        meetingId: randomUUID(), linkId, title: 'bench', hostUserId: randomUUID(), hostName: 'Bench', passcode: null,
        allowGuests: true, waitingRoom: false, maxParticipants, scheduledStart: null, endedAt: null, version: Date.now(),
      };
      // RPC through Miniflare's proxy, as the meetings routes do after writing Postgres.
      await (rooms.get(rooms.idFromName(linkId)) as unknown as { configure(s: unknown): Promise<void> }).configure(settings);
      return linkId;
    };
    const join = async (linkId: string, name: string) => {
      const response = await fetch(`${base.origin}/api/meetings/${linkId}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ displayName: name }),
      });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`join ${response.status}: ${body.slice(0, 200)}`);
    };

    console.log(`edgemeet join bench — Miniflare at ${base.origin}, ${MEETINGS} meetings × ${PER_MEETING} joins`);
    // Miniflare's proxy blocks this thread while it works: configure everything before the node's
    // heartbeat timer has to run.
    const warm = await configure(1000);
    const meetings = await Promise.all(Array.from({ length: MEETINGS }, () => configure(1000)));
    const one = await configure(1000);
    const big = await configure(1000);
    node = await connectNode(base);
    heartbeat = setInterval(() => node?.send(JSON.stringify({ type: 'heartbeat', nodeId: 'bench-node', state: 'serving', load: load(), sentAt: Date.now() })), 2_000);
    // Warm up the isolate and the region object.
    for (let i = 0; i < 20; i++) await join(warm, `warm ${i}`);
    // Baseline: a request the Worker answers without any Durable Object (bad link id → 400).
    await measure('baseline: Worker only (400, no DO)', 300, 1, async () => {
      const response = await fetch(`${base.origin}/api/meetings/bad/join`, { method: 'POST', body: '{}' });
      await response.text();
      if (response.status !== 400) throw new Error(`baseline ${response.status}`);
    });

    await measure('first joins (placement via RegionDO)', MEETINGS, CONCURRENCY, (i) => join(meetings[i]!, 'first'));
    const total = MEETINGS * (PER_MEETING - 1);
    await measure('joins spread over meetings', total, CONCURRENCY, (i) => join(meetings[i % MEETINGS]!, `p${i}`.slice(0, 20)));
    await measure('joins into one meeting (one DO), sequential', 300, 1, (i) => join(one, `s${i}`));
    await measure('joins into one meeting (one DO), concurrent', 600, CONCURRENCY, (i) => join(big, `c${i}`));
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    node?.close();
    await mf.dispose();
    await rm(outdir, { recursive: true, force: true });
  }
}

function load() {
  return {
    workersAlive: 2, workersTotal: 2, rooms: 0, participants: 0, transports: 0, producers: 0, consumers: 0,
    consumerCapacity: 100_000_000, cpuPerWorker: [0.1, 0.1], bitrateInKbps: 0, bitrateOutKbps: 0, packetLoss: 0, recordings: 0,
  };
}

/** One fake media node on the real control socket, credential derived like an operator would. */
function connectNode(base: URL): Promise<WebSocket> {
  const nodeId = 'bench-node';
  const credential = `${nodeId}.${createHmac('sha256', NODE_SECRET).update(nodeId).digest('base64url')}`;
  const ws = new WebSocket(`ws://${base.host}/api/nodes/connect?region=lon`, { headers: { Authorization: `Bearer ${credential}` } });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'hello',
          node: { nodeId, region: 'lon', signalingUrl: 'ws://127.0.0.1:4443', announcedAddress: '127.0.0.1', rtcPorts: [{ protocol: 'udp', port: 40000 }], version: 'bench' },
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

await main();
