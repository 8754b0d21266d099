import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, startTestNode, type TestNode } from '../../media-node/test/harness.js';
import { startBareSfu, type BareSfu } from '../bench/bare-sfu.js';
import { runFanout } from '../bench/fanout-run.js';
import { cpuSeconds } from '../bench/proc.js';

describe('bench:fanout harness', () => {
  let bare: BareSfu;
  let node: TestNode;
  beforeAll(async () => {
    bare = await startBareSfu();
    node = await startTestNode({ NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await bare?.close();
    await node?.stop();
  });

  it('reports a loss injected at the publishers, and counts every consumer of separate rooms (bare worker)', async () => {
    const outcome = await runFanout(
      { name: 'bare', workerPid: bare.worker.pid, join: async (room) => ({ url: bare.url, token: room }) },
      { rooms: 2, publishers: 2, subscribers: 1, seconds: 3, dropFraction: 0.2 },
    );
    expect(outcome.consumers).toBe(4);
    expect(outcome.lossPct).toBeGreaterThan(12);
    expect(outcome.lossPct).toBeLessThan(28);
    expect(outcome.workerCores).toBeGreaterThan(0);
    // Everything the run opened is closed after it.
    await eventually(() => bare.consumerCount() === 0, 10_000, 'the bare worker\'s consumers to close');
  });

  it('runs the same rooms through the media node\'s signaling without loss injected', async () => {
    const meetings = new Map<string, string>();
    const outcome = await runFanout(
      {
        name: 'node',
        workerPid: node.node.pool.slots[0]!.worker.pid,
        join: async (room, participant) => {
          if (!meetings.has(room)) meetings.set(room, newMeetingId());
          return { url: node.url, token: await node.token(meetings.get(room)!, participant) };
        },
      },
      { rooms: 2, publishers: 1, subscribers: 2, seconds: 3 },
    );
    expect(outcome.consumers).toBe(4);
    expect(outcome.lossPct).toBeLessThan(5);
  });

  it('reads a process\'s CPU time (a child burning a known 0.4 CPU-seconds)', async () => {
    // Burns once told to (on stdin), so its start-up is not counted.
    const burn = 'console.log("ready");process.stdin.once("data",()=>{const t=process.cpuUsage();while((process.cpuUsage(t).user+process.cpuUsage(t).system)<4e5){};console.log("done")});';
    const child = spawn(process.execPath, ['-e', burn], { stdio: ['pipe', 'pipe', 'ignore'] });
    const line = () => new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await line();
    const before = await cpuSeconds(child.pid!);
    const done = line();
    child.stdin.write('go\n');
    await done;
    const burned = (await cpuSeconds(child.pid!)) - before;
    child.kill('SIGKILL');
    expect(burned).toBeGreaterThan(0.3);
    expect(burned).toBeLessThan(0.6);
  });
});
