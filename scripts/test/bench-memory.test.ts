import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { rssSlopesKb } from '../bench/node-memory.js';
import { rssBytes } from '../bench/proc.js';
import { measureRoomStorage, storageSlopes } from '../bench/room-storage.js';
import { slope } from '../bench/stats.js';

describe('bench:memory harness', () => {
  it('sees a known 64 MB allocation in a process\'s RSS', async () => {
    const grow = 'console.log("ready");process.stdin.once("data",()=>{globalThis.b=Buffer.alloc(64*1024*1024,1);console.log("grown")});setInterval(()=>{},1000);';
    const child = spawn(process.execPath, ['-e', grow], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const line = () => new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await line();
      const before = await rssBytes(child.pid!);
      const grown = line();
      child.stdin.write('go\n');
      await grown;
      const added = ((await rssBytes(child.pid!)) - before) / 1024 / 1024;
      expect(added).toBeGreaterThan(60);
      expect(added).toBeLessThan(72);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('turns steps into per-participant slopes', () => {
    expect(rssSlopesKb([{ participants: 0, rssBytes: 100 * 1024 * 1024 }, { participants: 10, rssBytes: 110 * 1024 * 1024 }])).toEqual([1024]);
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBe(2);
    expect(storageSlopes([{ participants: 0, bytes: 4096 }, { participants: 8, bytes: 8192 }, { participants: 16, bytes: 16384 }])).toEqual([512, 1024]);
  });

  it('weighs a RoomDO that grows as guests join', async () => {
    const steps = await measureRoomStorage([40]);
    expect(steps.map((step) => step.participants)).toEqual([0, 40]);
    expect(steps[0]!.bytes).toBeGreaterThan(0);
    expect(steps[1]!.bytes).toBeGreaterThan(steps[0]!.bytes);
  });
});
