import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface WebinarRun {
  result: { viewers: number; nodes: number; regions: number; lossPct: number; addedLatencyMsP95: number; cpuPerNodePct: number[] };
  addedP50Ms: number;
  output: string;
}

/** One `npm run bench:webinar` with a few viewers; its JSON line and the relay hop's median from the printout. */
async function runWebinarBench(extra: string[]): Promise<WebinarRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench-webinar.ts', '--viewers', '9', '--seconds', '3', '--no-write', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A run cut short by the test's timeout must not leave its nodes and viewers behind.
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code, output).toBe(0);
  const json = stdout.split('\n').find((line) => line.startsWith('{"viewers"'));
  const p50 = /added by the relay hop: p50 (-?[\d.]+) ms/.exec(stdout);
  expect(json, output).toBeDefined();
  expect(p50, output).not.toBeNull();
  return { result: JSON.parse(json!) as WebinarRun['result'], addedP50Ms: Number(p50![1]), output };
}

describe('bench:webinar harness', () => {
  it('counts every packet at every viewer over three nodes in two regions, and reports a delay put on the relay hops', async () => {
    const plain = await runWebinarBench([]);
    expect(plain.result).toMatchObject({ viewers: 9, nodes: 3, regions: 2 });
    // Loopback loses nothing; below 1 % (one audio packet lost on its way into node A costs 9
    // deliveries of ~2,100) leaves room for that and still fails a miscount.
    expect(plain.result.lossPct, plain.output).toBeLessThan(1);
    expect(plain.result.cpuPerNodePct).toHaveLength(3);
    expect(plain.addedP50Ms, plain.output).toBeLessThan(20);

    // 40 ms held on A → B and A → C: the relayed viewers' extra delay over node A's.
    const delayed = await runWebinarBench(['--hop-delay-ms', '40']);
    expect(delayed.result.lossPct, delayed.output).toBeLessThan(1);
    expect(delayed.addedP50Ms, delayed.output).toBeGreaterThanOrEqual(38);
    expect(delayed.addedP50Ms, delayed.output).toBeLessThan(40 + 20);
    expect(delayed.result.addedLatencyMsP95, delayed.output).toBeGreaterThanOrEqual(40);
  });
});
