import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface SpawnedNode {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** mediasoup worker pids, from the node's "mediasoup worker started" log lines. */
  workerPids: number[];
  /** The HTTP port, from the "media node serving" log line (0 until then). */
  port: () => number;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves with the exit code, or 'timeout'. */
  waitExit(timeoutMs: number): Promise<number | null | 'timeout'>;
  kill(): void;
}

/** Runs the real entry point (`node --import tsx media-node/main.ts`) with the given env. */
export function spawnMediaNode(env: Record<string, string>): SpawnedNode {
  const child = spawn(process.execPath, ['--import', 'tsx', 'media-node/main.ts'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', MEDIASOUP_WORKER_BIN: process.env['MEDIASOUP_WORKER_BIN'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const workerPids: number[] = [];
  let port = 0;
  let output = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const pid = /"workerPid":(\d+).*"msg":"mediasoup worker started"/.exec(line)?.[1];
      if (pid) workerPids.push(Number(pid));
      const serving = /"port":(\d+).*"msg":"media node serving"/.exec(line)?.[1];
      if (serving) port = Number(serving);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    workerPids,
    port: () => port,
    output: () => output,
    exited,
    waitExit: (timeoutMs) => Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs))]),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
