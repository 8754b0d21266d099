import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNodeLayout } from '../dev-stack/node-layout.js';
import type { ListedRegion } from '../fleet/client.js';
import { parseDeadline, runFleetCli } from '../fleet/cli.js';
import { resolveTarget } from '../fleet/target.js';
import { formatFleet } from '../fleet/table.js';

/** The parts of the fleet tooling that need no running stack: layouts, the table, options. */

describe('node layout', () => {
  it('defaults to one node in lon', () => {
    expect(parseNodeLayout(undefined)).toEqual([{ nodeId: 'lon-dev-1', region: 'lon' }]);
    expect(parseNodeLayout(' ')).toEqual([{ nodeId: 'lon-dev-1', region: 'lon' }]);
  });

  it('numbers nodes per region; a bare region is one node', () => {
    expect(parseNodeLayout('lon:2, fra').map((node) => node.nodeId)).toEqual(['lon-dev-1', 'lon-dev-2', 'fra-dev-1']);
    expect(parseNodeLayout('fra:1,lon:1,fra:1').map((node) => node.nodeId)).toEqual(['fra-dev-1', 'fra-dev-2', 'lon-dev-1']);
  });

  it('refuses regions without media, unknown regions and bad counts', () => {
    expect(() => parseNodeLayout('mci:1')).toThrow(/mci has no media role/);
    expect(() => parseNodeLayout('xyz:1')).toThrow(/"xyz:1"/);
    expect(() => parseNodeLayout('lon:0')).toThrow(/"lon:0"/);
    expect(() => parseNodeLayout('lon=2')).toThrow(/expected <region>\[:<count>\]/);
  });
});

const load = { workersAlive: 2, workersTotal: 2, rooms: 1, participants: 3, transports: 6, producers: 6, consumers: 12, consumerCapacity: 1000, cpuPerWorker: [0.2, 0.4], bitrateInKbps: 1, bitrateOutKbps: 1, packetLoss: 0.012, recordings: 0 };
const region = (nodes: ListedRegion['nodes']): ListedRegion => ({ id: 'lon', name: 'London', roles: ['control', 'media'], baselineNodes: 1, reserveNodes: 1, nodes });

describe('fleet table', () => {
  it('prints one row per node with rooms, consumers, CPU, loss and heartbeat age', () => {
    const now = 1_000_000;
    const text = formatFleet(
      [
        region([
          { nodeId: 'lon-dev-1', region: 'lon', state: 'serving', signalingUrl: 'ws://x', lastHeartbeatAt: now - 1_400, load, rooms: 2, reservedConsumers: 360 },
          { nodeId: 'lon-dev-2', region: 'lon', state: 'down', signalingUrl: 'ws://y', lastHeartbeatAt: now - 300_000, load: { ...load, cpuPerWorker: [] }, rooms: 0, excludedBecause: ['down'] },
        ]),
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      'REGION  NODE       STATE    ROOMS  CONSUMERS     CPU  LOSS  HEARTBEAT  WHY EXCLUDED',
      'lon     lon-dev-1  serving  2      12/1000 +360  30%  1.2%  1s ago     -',
      'lon     lon-dev-2  down     0      12/1000       -    1.2%  5m ago     down',
      '',
      '2 nodes in 1 region, 1 serving',
    ]);
  });

  it('says so when no node has registered', () => {
    expect(formatFleet([region([])], 0)).toBe('no media nodes have registered with this edge');
  });
});

describe('fleet CLI options', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('takes deadlines as ISO times or spans from now, never in the past', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseDeadline('10m', now)?.toISOString()).toBe('2026-01-01T00:10:00.000Z');
    expect(parseDeadline('2026-01-01T02:00:00Z', now)?.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    expect(parseDeadline('2025-12-31T00:00:00Z', now)).toBeNull();
    expect(parseDeadline('soon', now)).toBeNull();
  });

  it('finds the admin token in the data dir and the edge of a running stack, unless told otherwise', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-fleet-cli-'));
    await writeFile(path.join(dir, 'dev-secrets.json'), JSON.stringify({ ADMIN_TOKEN: 'from-file' }));
    await writeFile(path.join(dir, 'dev-stack.json'), JSON.stringify({ edgeUrl: 'http://127.0.0.1:9999', pid: process.pid }));
    expect(await resolveTarget({}, {}, dir)).toMatchObject({ edgeUrl: 'http://127.0.0.1:9999', adminToken: 'from-file' });
    expect(await resolveTarget({ token: 'flag' }, { EDGE_URL: 'http://edge.example', ADMIN_TOKEN: 'env' }, dir)).toMatchObject({ edgeUrl: 'http://edge.example', adminToken: 'flag' });
    // A stack file whose process is gone is ignored.
    await writeFile(path.join(dir, 'dev-stack.json'), JSON.stringify({ edgeUrl: 'http://127.0.0.1:9999', pid: 2 ** 22 + 1 }));
    expect((await resolveTarget({}, {}, dir)).edgeUrl).toBe('http://127.0.0.1:8787');
    await expect(resolveTarget({}, {}, path.join(dir, 'missing'))).rejects.toThrow(/no admin token/);
  });

  it('answers usage errors with exit code 2 and the usage text', async () => {
    const errors: string[] = [];
    const io = { out: () => undefined, err: (text: string) => errors.push(text), env: {}, defaultDataDir: '/nonexistent' };
    expect(await runFleetCli([], io)).toBe(2);
    expect(await runFleetCli(['drain'], io)).toBe(2);
    expect(await runFleetCli(['list', 'extra'], io)).toBe(2);
    expect(await runFleetCli(['list', '--deadline', '10m'], io)).toBe(2);
    expect(errors[0]).toContain('usage: npm run fleet -- <command>');
  });
});
