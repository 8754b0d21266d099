/**
 * `npm start`: the whole system on this machine, on embedded defaults —
 *   Postgres (scripts/postgres.sh) + migrations, the Postgres relay for the Neon driver,
 *   dev secrets (.data/dev-secrets.json → .dev.vars), the web build (Vite), the edge
 *   (`wrangler dev`), a TURN relay (coturn), and media nodes registered in their regions (EDGEMEET_NODES=lon:2,fra:1;
 *   default one node in lon).
 * Waits for each to be healthy, prints the URL, and stops everything it started on Ctrl-C/SIGTERM.
 * Tests use `startStack({ dataDir: tmp, edgePort: 0, mediaPort: 0, nodes: 'lon:2' })` and fault
 * single nodes through `stack.node(id)`.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { RegionId } from '../schema/regions.js';
import { startPgRelay, type PgRelay } from './pg-relay.js';
import { FleetClient } from './fleet/client.js';
import { removeStackFile, writeStackFile } from './fleet/target.js';
import { allocateNodePorts, launchMediaNode, type MediaNodeHandle } from './dev-stack/media-nodes.js';
import { parseNodeLayout } from './dev-stack/node-layout.js';
import { delay, run, spawnChild, tail, waitUntil, type Child } from './dev-stack/processes.js';
import { freePort, portOr } from './dev-stack/ports.js';
import { buildWebIfNeeded } from './dev-stack/web-build.js';
import { devVarsText, loadOrCreateSecrets, nodeCredential } from './dev-stack/secrets.js';
import { startTurnRelay } from './dev-stack/turn.js';

export type { MediaNodeHandle } from './dev-stack/media-nodes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StackOptions {
  /** Where Postgres, wrangler state, secrets and logs live (default <repo>/.data). */
  dataDir?: string;
  /** 0 = any free port. Defaults: edge 8787, media nodes 4443, 4444, … (next free port when taken). */
  edgePort?: number;
  mediaPort?: number;
  /** First UDP/TCP port of the first node's WebRtcServers (later nodes follow on); 0 = free ports. */
  rtcMinPort?: number;
  /** mediasoup workers per media node (0 = one per core). */
  mediaWorkers?: number;
  /** Start a local TURN relay (coturn) when installed (default true). */
  turn?: boolean;
  /** Media node layout, e.g. 'lon:2,fra:1' → lon-dev-1, lon-dev-2, fra-dev-1 (default 'lon:1'). */
  nodes?: string;
  /** Rebuild the web app even when edge/web/dist is newer than its sources. */
  forceWebBuild?: boolean;
  /** Serve edge/web/dist as it is (built only when missing): for tests that open no browser. */
  skipWebBuild?: boolean;
  /** Also write <repo>/.dev.vars (default: when dataDir is the default one). */
  writeRootDevVars?: boolean;
  /** Echo children's output to the console with prefixes (default false: log files only). */
  echo?: boolean;
  /** Start the media nodes (default true; false = edge and web only, for UI work). */
  media?: boolean;
  /** Progress lines (default: console). */
  log?: (line: string) => void;
  /** Aborting while the stack starts stops what it started so far; startStack then rejects. */
  signal?: AbortSignal;
}

export interface Stack {
  /** Open this in a browser. */
  url: string;
  edgeUrl: string;
  /** The first node's URL and id (the only node in the default layout). */
  mediaUrl: string;
  databaseUrl: string;
  adminToken: string;
  nodeId: string;
  /** Every media node, in layout order (empty with `media: false`). */
  nodes: MediaNodeHandle[];
  /** The node with this id; throws for an unknown id. */
  node(nodeId: string): MediaNodeHandle;
  /** The edge's fleet API with the admin token. */
  fleet: FleetClient;
  dataDir: string;
  logDir: string;
  stop(): Promise<void>;
}

const databaseUrlLine = /export DATABASE_URL=(\S+)/;

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const say = options.log ?? ((line: string) => console.log(`\x1b[1m[dev-stack]\x1b[0m ${line}`));
  // Checked before anything starts, so a typo in the layout costs nothing.
  const layout = options.media === false ? [] : parseNodeLayout(options.nodes);
  const defaultDataDir = path.join(ROOT, '.data');
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir);
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  // As root, Postgres runs as the `postgres` user, which must be able to reach its folder inside.
  await chmod(dataDir, 0o755);
  const childEnv = { ...process.env, FORCE_COLOR: '0' };
  const cleanups: Array<() => Promise<void>> = [];
  let stopped = false;
  const checkpoint = () => options.signal?.throwIfAborted();
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  };

  try {
    // ── Postgres ─────────────────────────────────────────────────────────────────────
    const pgEnv = { ...childEnv, EDGEMEET_PG_DIR: path.join(dataDir, 'postgres') };
    const pgWasRunning = await run('bash', ['scripts/postgres.sh', 'status'], { cwd: ROOT, env: pgEnv }).then(
      () => true,
      () => false,
    );
    say(pgWasRunning ? 'Postgres: already running, reusing it' : 'Postgres: starting (first run initialises a cluster)…');
    const pgStart = await run('bash', ['scripts/postgres.sh', 'start'], { cwd: ROOT, env: pgEnv });
    const databaseUrl = databaseUrlLine.exec(pgStart.stdout)?.[1];
    if (!databaseUrl) throw new Error(`scripts/postgres.sh start printed no DATABASE_URL:\n${pgStart.stdout}${pgStart.stderr}`);
    if (!pgWasRunning) {
      cleanups.push(async () => {
        say('Postgres: stopping');
        await run('bash', ['scripts/postgres.sh', 'stop'], { cwd: ROOT, env: pgEnv });
      });
    }
    say('Postgres: migrating');
    await run(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { cwd: ROOT, env: { ...childEnv, DATABASE_URL: databaseUrl } });
    checkpoint();
    say(`Postgres: ready (${databaseUrl})`);

    // ── relay (Neon driver inside workerd → WebSocket → TCP Postgres) ────────────────
    const pgTarget = new URL(databaseUrl);
    const relay: PgRelay = await startPgRelay({ port: 0, allowedTargets: [`${pgTarget.hostname}:${pgTarget.port || '5432'}`] });
    cleanups.push(() => relay.close());
    say(`Postgres relay: 127.0.0.1:${relay.port}`);

    // ── secrets and the edge's variables ─────────────────────────────────────────────
    const secrets = await loadOrCreateSecrets(dataDir);
    const edgePort = await portOr(options.edgePort ?? 8787);
    const edgeUrl = `http://127.0.0.1:${edgePort}`;
    // ── TURN relay (coturn), for browsers whose network allows only relayed media ─────
    const turnSecret = secrets.TURN_SECRET ?? '';
    const turn = options.turn === false ? null : await startTurnRelay({ secret: turnSecret, logDir, env: childEnv, echo: options.echo ?? false, say, signal: options.signal });
    if (turn) cleanups.push(() => turn.stop());
    checkpoint();
    const devVars = devVarsText({
      DATABASE_URL: databaseUrl,
      DB_WS_PROXY: `127.0.0.1:${relay.port}/v1`,
      MEDIA_TOKEN_PRIVATE_JWK: secrets.MEDIA_TOKEN_PRIVATE_JWK,
      NODE_CREDENTIAL_SECRET: secrets.NODE_CREDENTIAL_SECRET,
      ADMIN_TOKEN: secrets.ADMIN_TOKEN,
      URL_SIGNING_SECRET: secrets.URL_SIGNING_SECRET,
      PUBLIC_URL: edgeUrl,
      ...(turn ? { TURN_SECRET: turnSecret, TURN_URLS: turn.urls.join(',') } : {}),
      // One machine plays people in several places (X-Edgemeet-Location); a local run only.
      TRUST_LOCATION_HEADER: 'true',
    });
    const devVarsFile = path.join(dataDir, 'dev.vars');
    await writeFile(devVarsFile, devVars, { mode: 0o600 });
    if (options.writeRootDevVars ?? dataDir === defaultDataDir) await writeFile(path.join(ROOT, '.dev.vars'), devVars, { mode: 0o600 });

    // ── web app ──────────────────────────────────────────────────────────────────────
    await buildWebIfNeeded({ root: ROOT, env: childEnv, force: options.forceWebBuild ?? false, skip: options.skipWebBuild ?? false, say });
    checkpoint();

    // ── edge ─────────────────────────────────────────────────────────────────────────
    say(`Edge: starting wrangler dev on ${edgeUrl}…`);
    const edge = spawnChild({
      name: 'edge',
      command: process.execPath,
      args: [
        path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
        'dev',
        '--config', path.join(ROOT, 'wrangler.toml'),
        '--ip', '127.0.0.1',
        '--port', String(edgePort),
        '--inspector-port', String(await freePort()),
        '--persist-to', path.join(dataDir, 'wrangler'),
        '--env-file', devVarsFile,
        '--show-interactive-dev-session=false',
      ],
      cwd: ROOT,
      env: {
        ...childEnv,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_HIDE_BANNER: 'true',
        WRANGLER_LOG_PATH: path.join(logDir, 'wrangler'),
        CI: '1',
      },
      logDir,
      echo: options.echo ?? false,
    });
    cleanups.push(() => stopChild(edge, say));
    await waitUntil('edge', async () => (await fetch(`${edgeUrl}/api/openapi.json`)).status < 500, { timeoutMs: 120_000, child: edge, signal: options.signal });
    say('Edge: healthy');

    // ── media nodes ──────────────────────────────────────────────────────────────────
    await writeStackFile(dataDir, edgeUrl);
    cleanups.push(() => removeStackFile(dataDir));
    const fleet = new FleetClient({ edgeUrl, adminToken: secrets.ADMIN_TOKEN });
    const nodes: MediaNodeHandle[] = [];
    const node = (nodeId: string) => {
      const found = nodes.find((candidate) => candidate.nodeId === nodeId);
      if (!found) throw new Error(`no media node ${nodeId} in this stack (${nodes.map((n) => n.nodeId).join(', ') || 'none'})`);
      return found;
    };
    const planned = await allocateNodePorts(layout, options.mediaPort ?? 4443, options.rtcMinPort ?? 0, options.mediaWorkers ?? 0);
    const first = { nodeId: planned[0]?.nodeId ?? 'lon-dev-1', mediaUrl: `http://127.0.0.1:${planned[0]?.listenPort ?? 0}` };
    const done: Stack = { url: `${edgeUrl}/`, edgeUrl, ...first, databaseUrl, adminToken: secrets.ADMIN_TOKEN, nodes, node, fleet, dataDir, logDir, stop };
    if (layout.length === 0) {
      say('Media nodes: skipped (media: false)');
      return done;
    }
    const workerBin = process.env.MEDIASOUP_WORKER_BIN || path.join(ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
    if (!existsSync(workerBin)) throw new Error(`no mediasoup worker at ${workerBin}: run \`npm run setup\` (builds it once), or set MEDIASOUP_WORKER_BIN`);
    const context = {
      root: ROOT,
      dataDir,
      logDir,
      edgeUrl,
      fleet,
      env: childEnv,
      credentialFor: (nodeId: string, region: RegionId) => nodeCredential(secrets.NODE_CREDENTIAL_SECRET, nodeId, region),
      mediaTokenPublicJwk: secrets.MEDIA_TOKEN_PUBLIC_JWK,
      workers: options.mediaWorkers ?? 0,
      echo: options.echo ?? false,
      say,
      signal: options.signal,
    };
    // All at once: each node registers in its own region's RegionDO.
    const launched = planned.map((spec) => launchMediaNode(spec, context));
    nodes.push(...launched.map((launch) => launch.handle));
    cleanups.push(async () => void (await Promise.all(nodes.map((handle) => handle.stop()))));
    const registrations = await Promise.allSettled(launched.map((launch) => launch.registered));
    const failed = registrations.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    return done;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: Child, say: (line: string) => void): Promise<void> {
  say('Edge: stopping');
  await child.stop();
}

const cliSchema = z.object({
  EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  MEDIA_PORT: z.coerce.number().int().min(0).max(65535).default(4443),
  MEDIA_WORKERS: z.coerce.number().int().min(0).default(0),
  EDGEMEET_DATA_DIR: z.string().optional(),
  EDGEMEET_ECHO: z.enum(['0', '1']).default('1'),
  EDGEMEET_MEDIA: z.enum(['0', '1']).default('1'),
  /** e.g. lon:2,fra:1 (default one node in lon); parsed by dev-stack/node-layout.ts. */
  EDGEMEET_NODES: z.string().optional(),
});

async function main(): Promise<void> {
  const config = cliSchema.parse(process.env);
  const started = Date.now();
  let stopping = false;
  let starting: Promise<Stack> | null = null;
  const startAbort = new AbortController();
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[dev-stack] ${signal}: stopping everything…`);
    // Still starting: startStack gives up and stops what it had started; else stop the whole stack.
    startAbort.abort(new Error(`${signal} while starting`));
    const stack = await starting?.catch(() => null);
    await stack?.stop();
    console.log('[dev-stack] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  let stack: Stack;
  try {
    starting = startStack({
      dataDir: config.EDGEMEET_DATA_DIR,
      edgePort: config.EDGE_PORT,
      mediaPort: config.MEDIA_PORT,
      mediaWorkers: config.MEDIA_WORKERS,
      echo: config.EDGEMEET_ECHO === '1',
      media: config.EDGEMEET_MEDIA === '1',
      nodes: config.EDGEMEET_NODES,
      signal: startAbort.signal,
    });
    stack = await starting;
  } catch (error) {
    if (stopping) return;
    console.error(`[dev-stack] failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (stopping) return;
  console.log(`\n  edgemeet is up in ${((Date.now() - started) / 1000).toFixed(1)} s — open \x1b[1m${stack.url}\x1b[0m`);
  if (stack.nodes.length > 0) {
    const nodes = stack.nodes.map((node) => `${node.nodeId} (${node.region}, ${node.url}, pid ${node.pid})`).join(', ');
    console.log(`  media nodes: ${nodes}   fleet: npm run fleet -- list`);
  }
  console.log(`  logs: ${stack.logDir}   admin token: ${path.join(stack.dataDir, 'dev-secrets.json')}   stop: Ctrl-C\n`);
  // Keep running until a signal (a node that exits by itself is reported by dev-stack/media-nodes.ts).
  await delay(2 ** 31 - 1);
}

export { tail };

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
