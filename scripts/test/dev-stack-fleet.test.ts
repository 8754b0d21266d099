import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../dev-stack.js';
import { runFleetCli } from '../fleet/cli.js';

/**
 * A real local stack with two media nodes in one region: both start, get credentials and register
 * with the lon RegionDO; the operator CLI lists them and drains one; a node can be frozen, resumed,
 * crashed and restarted through its handle. Everything started here is stopped in afterAll.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');

let stack: Stack;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-fleet-'));
  stack = await startStack({
    dataDir,
    edgePort: 0,
    mediaPort: 0,
    rtcMinPort: 0,
    mediaWorkers: 1,
    nodes: 'lon:2',
    skipWebBuild: true,
    writeRootDevVars: false,
    log: (line) => console.log(`[stack] ${line}`),
  });
});

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** `npm run fleet -- …` as an operator runs it, against this stack (token from its dev-secrets.json). */
function fleet(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, EDGE_URL: '', ADMIN_TOKEN: '', EDGEMEET_DATA_DIR: '' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/fleet.ts', ...args, '--edge', stack.edgeUrl, '--data-dir', dataDir], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The table's node rows as { region, node, state }. */
function rows(table: string): Array<{ region: string; node: string; state: string }> {
  const lines = table.split('\n');
  const header = lines.findIndex((line) => line.startsWith('REGION'));
  const body = lines.slice(header + 1, lines.indexOf('', header + 1) === -1 ? undefined : lines.indexOf('', header + 1));
  return body.map((line) => {
    const [region = '', node = '', state = ''] = line.split(/\s{2,}/);
    return { region, node, state };
  });
}

describe('a local fleet of two nodes', () => {
  it('starts, credentials and registers each node of the layout on its own ports and folders', async () => {
    expect(stack.nodes.map((node) => [node.nodeId, node.region])).toEqual([
      ['lon-dev-1', 'lon'],
      ['lon-dev-2', 'lon'],
    ]);
    const [first, second] = stack.nodes;
    expect(first!.pid).not.toBe(second!.pid);
    expect(first!.url).not.toBe(second!.url);
    expect(first!.recordingsDir).not.toBe(second!.recordingsDir);
    expect(stack.nodeId).toBe('lon-dev-1');
    expect(stack.mediaUrl).toBe(first!.url);

    const listed = await fleet('list');
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(rows(listed.stdout)).toEqual([
      { region: 'lon', node: 'lon-dev-1', state: 'serving' },
      { region: 'lon', node: 'lon-dev-2', state: 'serving' },
    ]);
    expect(listed.stdout).toContain('2 nodes in 1 region, 2 serving');
  });

  it('a node handle freezes and resumes the node (SIGSTOP / SIGCONT to its process group)', async () => {
    const node = stack.node('lon-dev-1');
    const healthy = () => fetch(`${node.url}/health`, { signal: AbortSignal.timeout(1_000) }).then((response) => response.ok, () => false);
    node.signal('SIGSTOP');
    expect(await healthy()).toBe(false);
    node.signal('SIGCONT');
    expect(await healthy()).toBe(true);
    expect(node.running).toBe(true);
  });

  it('a node handle crashes the node (SIGKILL) and starts it again with the same id and ports', async () => {
    const node = stack.node('lon-dev-1');
    const crashedPid = node.pid;
    node.signal('SIGKILL');
    expect(await node.exited).toBeNull();
    await node.restart();
    expect(node.pid).not.toBe(crashedPid);
    const registered = (await stack.fleet.nodes()).find((listed) => listed.nodeId === 'lon-dev-1');
    expect(registered?.state).toBe('serving');
    expect((await fetch(`${node.url}/health`)).ok).toBe(true);
  });

  it('`fleet drain <node>` takes that node out of placement; the other keeps serving', async () => {
    const drained = await fleet('drain', 'lon-dev-2');
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('lon-dev-2 (lon): draining');

    // In-process this time (the same code as the command, without another tsx start-up).
    let table = '';
    const io = { out: (text: string) => (table += text), err: (text: string) => expect.fail(text), env: {}, defaultDataDir: dataDir };
    expect(await runFleetCli(['list', '--edge', stack.edgeUrl], io)).toBe(0);
    const states = Object.fromEntries(rows(table).map((row) => [row.node, row.state]));
    expect(states['lon-dev-1']).toBe('serving');
    // An empty node exits once drained; the registry then marks it down.
    expect(['draining', 'down']).toContain(states['lon-dev-2']);
  });

  it('the CLI names a node the fleet does not have', async () => {
    const errors: string[] = [];
    const io = { out: () => undefined, err: (text: string) => errors.push(text), env: {}, defaultDataDir: dataDir };
    expect(await runFleetCli(['drain', 'lon-dev-9', '--edge', stack.edgeUrl], io)).toBe(1);
    expect(errors.join('\n')).toContain('no node lon-dev-9 in the fleet (known: lon-dev-1, lon-dev-2)');
  });
});
