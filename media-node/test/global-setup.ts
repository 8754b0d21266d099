import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    mediasoupWorkerBin: string;
  }
}

/**
 * Gets the mediasoup worker binary from scripts/build-mediasoup-worker.sh (cached after the first
 * build; its last stdout line is the path) and hands it to the test files.
 */
export default async function setup(project: TestProject): Promise<void> {
  let bin = process.env['MEDIASOUP_WORKER_BIN'];
  if (!bin) {
    const { stdout } = await promisify(execFile)('bash', ['scripts/build-mediasoup-worker.sh'], { maxBuffer: 64 * 1024 * 1024 });
    bin = stdout.trim().split('\n').pop();
    if (!bin) throw new Error('build-mediasoup-worker.sh printed no binary path');
    process.env['MEDIASOUP_WORKER_BIN'] = bin;
  }
  project.provide('mediasoupWorkerBin', bin);
}
