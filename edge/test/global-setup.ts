/**
 * Global setup of the edge tests (runs in Node, once per `vitest run`):
 * - Postgres: DATABASE_URL if set, else `scripts/postgres.sh start` (the dev cluster); migrations applied.
 * - The WebSocket↔TCP relay the Neon driver in workerd tunnels through.
 * - A loopback test-control server, so tests inside workerd (which cannot spawn processes) can
 *   start/stop a separate "outage" Postgres cluster without disturbing other test files.
 * - A fresh ES256 key pair for media tokens.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { describeMigrationError, runMigrations } from '../../scripts/db-migrate.js';
import { startPgRelay, type PgRelay } from '../../scripts/pg-relay.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const OUTAGE_PG_DIR = path.join(root, '.data/postgres-edge-outage-test');

async function postgresSh(command: 'start' | 'stop' | 'pid', dataDir?: string): Promise<string> {
  const env = dataDir ? { ...process.env, EDGEMEET_PG_DIR: dataDir } : process.env;
  const { stdout } = await run('bash', [path.join(root, 'scripts/postgres.sh'), command], { env, cwd: root, timeout: 180_000 });
  return stdout;
}

async function postgres(command: 'start' | 'stop', dataDir?: string): Promise<string> {
  const stdout = await postgresSh(command, dataDir);
  if (command === 'stop') return '';
  const match = /DATABASE_URL=(\S+)/.exec(stdout);
  if (!match) throw new Error(`postgres.sh start printed no DATABASE_URL: ${stdout}`);
  return match[1]!;
}

/** The cluster's postmaster (postgres.sh knows where the cluster really lives: as root it may move it). */
async function postmasterPid(dataDir: string): Promise<number> {
  const stdout = await postgresSh('pid', dataDir);
  const pid = Number(stdout.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`postgres.sh pid printed no pid for ${dataDir}: ${stdout}`);
  return pid;
}

function targetOf(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || 5432}`;
}

async function migrate(databaseUrl: string): Promise<void> {
  try {
    await runMigrations(databaseUrl);
  } catch (error) {
    throw new Error(`migrations failed on ${databaseUrl}\n${describeMigrationError(error)}`);
  }
}

/**
 * POST /outage-cluster/start → { databaseUrl }; POST /outage-cluster/stop → {};
 * POST /outage-cluster/freeze and /thaw → {} (SIGSTOP / SIGCONT its postmaster).
 * `migrated` says the cluster's schema is already in place (it is the suite's own database).
 */
function startControlServer(relay: PgRelay, clusterDir: string, migratedAlready = false): Promise<{ server: Server; url: string; outageStarted: () => boolean }> {
  let started = false;
  let migrated = migratedAlready;
  const server = createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    void (async () => {
      try {
        if (request.method === 'POST' && request.url === '/outage-cluster/start') {
          const databaseUrl = await postgres('start', clusterDir);
          started = true;
          relay.allow(targetOf(databaseUrl));
          if (!migrated) await migrate(databaseUrl);
          migrated = true;
          return reply(200, { databaseUrl });
        }
        if (request.method === 'POST' && request.url === '/outage-cluster/stop') {
          await postgres('stop', clusterDir);
          return reply(200, {});
        }
        // Frozen: its postmaster stopped, so new connections are accepted by the kernel and then
        // never served (a hung or partitioned server); thawed, it serves them again.
        if (request.method === 'POST' && (request.url === '/outage-cluster/freeze' || request.url === '/outage-cluster/thaw')) {
          process.kill(await postmasterPid(clusterDir), request.url.endsWith('freeze') ? 'SIGSTOP' : 'SIGCONT');
          return reply(200, {});
        }
        reply(404, { error: 'unknown control route' });
      } catch (error) {
        reply(500, { error: String(error) });
      }
    })();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}`, outageStarted: () => started });
    });
  });
}

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return setupEdgeTests(project);
}

/**
 * `ownCluster`: the suite's database is a cluster of its own in that folder (started here, and
 * stoppable by the tests through the control server) instead of DATABASE_URL / the dev cluster.
 */
export async function setupEdgeTests(project: TestProject, options: { ownCluster?: string } = {}): Promise<() => Promise<void>> {
  const outageDir = options.ownCluster ?? OUTAGE_PG_DIR;
  const databaseUrl = options.ownCluster ? await postgres('start', outageDir) : process.env.DATABASE_URL || (await postgres('start'));
  await migrate(databaseUrl);
  const relay = await startPgRelay({ port: 0, allowedTargets: [targetOf(databaseUrl)] });
  const control = await startControlServer(relay, outageDir, Boolean(options.ownCluster));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  project.provide('databaseUrl', databaseUrl);
  project.provide('dbWsProxy', `127.0.0.1:${relay.port}/v1`);
  project.provide('testControlUrl', control.url);
  project.provide('mediaTokenPrivateJwk', JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'ES256' }));
  project.provide('mediaTokenPublicJwk', JSON.stringify({ ...publicKey.export({ format: 'jwk' }), alg: 'ES256' }));

  return async () => {
    await new Promise<void>((resolve) => control.server.close(() => resolve()));
    if (control.outageStarted() || options.ownCluster) await postgres('stop', outageDir).catch(() => {});
    await relay.close();
  };
}
