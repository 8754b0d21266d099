/**
 * `npm start`: the whole system on this machine, on embedded defaults —
 *   Postgres (scripts/postgres.sh) + migrations, the Postgres relay for the Neon driver,
 *   dev secrets (.data/dev-secrets.json → .dev.vars), the web build (Vite), the edge
 *   (`wrangler dev`), and one media node registered in the local region.
 * Waits for each to be healthy, prints the URL, and stops everything it started on Ctrl-C/SIGTERM.
 * Tests use `startStack({ dataDir: tmp, edgePort: 0, mediaPort: 0 })`.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fleetResponseSchema } from '../schema/wire/http.js';
import { startPgRelay, type PgRelay } from './pg-relay.js';
import { delay, run, spawnChild, tail, waitUntil, type Child } from './dev-stack/processes.js';
import { freePort, portOr } from './dev-stack/ports.js';
import { devVarsText, loadOrCreateSecrets, nodeCredential } from './dev-stack/secrets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_REGION = 'lon';

export interface StackOptions {
  /** Where Postgres, wrangler state, secrets and logs live (default <repo>/.data). */
  dataDir?: string;
  /** 0 = any free port. Defaults: edge 8787, media node 4443 (next free port when taken). */
  edgePort?: number;
  mediaPort?: number;
  /** First UDP/TCP port of the media node's WebRtcServers; 0 = free ports. */
  rtcMinPort?: number;
  /** mediasoup workers on the media node (0 = one per core). */
  mediaWorkers?: number;
  /** Rebuild the web app even when edge/web/dist is newer than its sources. */
  forceWebBuild?: boolean;
  /** Also write <repo>/.dev.vars (default: when dataDir is the default one). */
  writeRootDevVars?: boolean;
  /** Echo children's output to the console with prefixes (default false: log files only). */
  echo?: boolean;
  /** Start the media node (default true; false = edge and web only, for UI work). */
  media?: boolean;
  /** Progress lines (default: console). */
  log?: (line: string) => void;
}

export interface Stack {
  /** Open this in a browser. */
  url: string;
  edgeUrl: string;
  mediaUrl: string;
  databaseUrl: string;
  adminToken: string;
  nodeId: string;
  dataDir: string;
  logDir: string;
  stop(): Promise<void>;
}

const databaseUrlLine = /export DATABASE_URL=(\S+)/;

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const say = options.log ?? ((line: string) => console.log(`\x1b[1m[dev-stack]\x1b[0m ${line}`));
  const defaultDataDir = path.join(ROOT, '.data');
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir);
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  // As root, Postgres runs as the `postgres` user, which must be able to reach its folder inside.
  await chmod(dataDir, 0o755);
  const childEnv = { ...process.env, FORCE_COLOR: '0' };
  const cleanups: Array<() => Promise<void>> = [];
  let stopped = false;
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
    const devVars = devVarsText({
      DATABASE_URL: databaseUrl,
      DB_WS_PROXY: `127.0.0.1:${relay.port}/v1`,
      MEDIA_TOKEN_PRIVATE_JWK: secrets.MEDIA_TOKEN_PRIVATE_JWK,
      NODE_CREDENTIAL_SECRET: secrets.NODE_CREDENTIAL_SECRET,
      ADMIN_TOKEN: secrets.ADMIN_TOKEN,
      URL_SIGNING_SECRET: secrets.URL_SIGNING_SECRET,
      PUBLIC_URL: edgeUrl,
    });
    const devVarsFile = path.join(dataDir, 'dev.vars');
    await writeFile(devVarsFile, devVars, { mode: 0o600 });
    if (options.writeRootDevVars ?? dataDir === defaultDataDir) await writeFile(path.join(ROOT, '.dev.vars'), devVars, { mode: 0o600 });

    // ── web app ──────────────────────────────────────────────────────────────────────
    if (options.forceWebBuild || (await webBuildIsStale())) {
      say('Web app: building (vite build)…');
      await run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'edge/web/vite.config.ts'], { cwd: ROOT, env: childEnv });
    } else say('Web app: edge/web/dist is up to date');

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
    await waitUntil('edge', async () => (await fetch(`${edgeUrl}/api/openapi.json`)).status < 500, { timeoutMs: 120_000, child: edge });
    say('Edge: healthy');

    // ── media node ───────────────────────────────────────────────────────────────────
    const nodeId = `${DEFAULT_REGION}-dev-1`;
    const mediaPort = await portOr(options.mediaPort ?? 4443);
    const mediaUrl = `http://127.0.0.1:${mediaPort}`;
    const done = { url: `${edgeUrl}/`, edgeUrl, mediaUrl, databaseUrl, adminToken: secrets.ADMIN_TOKEN, nodeId, dataDir, logDir, stop };
    if (options.media === false) {
      say('Media node: skipped (media: false)');
      return done;
    }
    const workerBin = process.env.MEDIASOUP_WORKER_BIN || path.join(ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
    if (!existsSync(workerBin)) throw new Error(`no mediasoup worker at ${workerBin}: run \`npm run setup\` (builds it once), or set MEDIASOUP_WORKER_BIN`);
    say(`Media node ${nodeId}: starting on ${mediaUrl}…`);
    const media = spawnChild({
      name: 'media',
      command: process.execPath,
      args: ['--import', 'tsx', 'media-node/main.ts'],
      cwd: ROOT,
      env: {
        ...childEnv,
        NODE_ID: nodeId,
        REGION: DEFAULT_REGION,
        EDGE_URL: edgeUrl,
        NODE_CREDENTIAL: nodeCredential(secrets.NODE_CREDENTIAL_SECRET, nodeId),
        MEDIA_TOKEN_PUBLIC_JWK: secrets.MEDIA_TOKEN_PUBLIC_JWK,
        LISTEN_HOST: '127.0.0.1',
        LISTEN_PORT: String(mediaPort),
        SIGNALING_URL: `ws://127.0.0.1:${mediaPort}`,
        RTC_LISTEN_IP: '127.0.0.1',
        ANNOUNCED_ADDRESS: '127.0.0.1',
        RTC_MIN_PORT: String(options.rtcMinPort ?? 0),
        NUM_WORKERS: String(options.mediaWorkers ?? 0),
        RECORDINGS_DIR: path.join(dataDir, 'recordings'),
        LOG_LEVEL: 'info',
      },
      logDir,
      echo: options.echo ?? false,
    });
    // First SIGTERM drains the node, the second exits it.
    cleanups.push(() => stopChild(media, say, 2));
    await waitUntil('media node', async () => (await fetch(`${mediaUrl}/health`)).ok, { timeoutMs: 60_000, child: media });
    await waitUntil(
      'media node registration',
      async () => {
        const response = await fetch(`${edgeUrl}/api/fleet/regions`, { headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` } });
        const fleet = fleetResponseSchema.safeParse(await response.json().catch(() => null));
        return fleet.success && fleet.data.regions.some((region) => region.nodes.some((node) => node.nodeId === nodeId && node.state === 'serving'));
      },
      { timeoutMs: 30_000, child: media, intervalMs: 500 },
    );
    say(`Media node ${nodeId}: healthy and serving in region ${DEFAULT_REGION}`);

    return done;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: Child, say: (line: string) => void, signalsBeforeKill = 1): Promise<void> {
  say(`${child.name === 'edge' ? 'Edge' : 'Media node'}: stopping`);
  await child.stop({ signalsBeforeKill });
}

/** True when any web source (or the wire schemas it bundles) is newer than the built index.html. */
async function webBuildIsStale(): Promise<boolean> {
  const built = path.join(ROOT, 'edge/web/dist/index.html');
  if (!existsSync(built)) return true;
  const builtAt = (await stat(built)).mtimeMs;
  const newest = async (dir: string): Promise<number> => {
    let latest = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? await newest(full) : (await stat(full)).mtimeMs);
    }
    return latest;
  };
  const sources = await Promise.all([newest(path.join(ROOT, 'edge/web/src')), newest(path.join(ROOT, 'schema')), stat(path.join(ROOT, 'edge/web/index.html')).then((s) => s.mtimeMs)]);
  return Math.max(...sources) > builtAt;
}

const cliSchema = z.object({
  EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  MEDIA_PORT: z.coerce.number().int().min(0).max(65535).default(4443),
  MEDIA_WORKERS: z.coerce.number().int().min(0).default(0),
  EDGEMEET_DATA_DIR: z.string().optional(),
  EDGEMEET_ECHO: z.enum(['0', '1']).default('1'),
  EDGEMEET_MEDIA: z.enum(['0', '1']).default('1'),
});

async function main(): Promise<void> {
  const config = cliSchema.parse(process.env);
  const started = Date.now();
  let stack: Stack | null = null;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[dev-stack] ${signal}: stopping everything…`);
    await stack?.stop();
    console.log('[dev-stack] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    stack = await startStack({
      dataDir: config.EDGEMEET_DATA_DIR,
      edgePort: config.EDGE_PORT,
      mediaPort: config.MEDIA_PORT,
      mediaWorkers: config.MEDIA_WORKERS,
      echo: config.EDGEMEET_ECHO === '1',
      media: config.EDGEMEET_MEDIA === '1',
    });
  } catch (error) {
    console.error(`[dev-stack] failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (stopping) return;
  console.log(`\n  edgemeet is up in ${((Date.now() - started) / 1000).toFixed(1)} s — open \x1b[1m${stack.url}\x1b[0m`);
  console.log(`  logs: ${stack.logDir}   admin token: ${path.join(stack.dataDir, 'dev-secrets.json')}   stop: Ctrl-C\n`);
  // Keep running until a signal; report if a child dies on its own.
  await delay(2 ** 31 - 1);
}

export { tail };

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
