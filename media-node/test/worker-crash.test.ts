import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TestTokenIssuer } from './peers/tokens.js';

const SECRET = 'crash-test-secret';
const NODE_ID = 'media-crash-1';

describe('crash-only: a dead mediasoup worker ends the node process', () => {
  let edge: FakeEdge | undefined;
  afterAll(async () => {
    await edge?.stop();
  });

  it('reports workerDied on the control channel and exits non-zero after kill -9 of a worker', async () => {
    edge = await FakeEdge.start({ credential: nodeCredential(SECRET, NODE_ID) });
    const issuer = await TestTokenIssuer.create();
    const child = spawn(process.execPath, ['--import', 'tsx', 'media-node/main.ts'], {
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        MEDIASOUP_WORKER_BIN: process.env['MEDIASOUP_WORKER_BIN'],
        NODE_ID,
        REGION: 'fra',
        EDGE_URL: edge.url,
        NODE_CREDENTIAL: nodeCredential(SECRET, NODE_ID),
        MEDIA_TOKEN_PUBLIC_JWK: issuer.publicJwk,
        LISTEN_HOST: '127.0.0.1',
        LISTEN_PORT: '0',
        RTC_MIN_PORT: '0',
        NUM_WORKERS: '2',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const workerPids: number[] = [];
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n')) {
        const pid = /"workerPid":(\d+).*"msg":"mediasoup worker started"/.exec(line)?.[1];
        if (pid) workerPids.push(Number(pid));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await edge.waitFor(() => edge!.hellos().length === 1, 60_000, 'hello from the spawned node');
      expect(workerPids).toHaveLength(2);
      const victim = workerPids[1]!;
      process.kill(victim, 'SIGKILL');
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      expect(code, output.slice(-2000)).not.toBe('timeout');
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      await edge.waitFor(() => edge!.events().some((event) => event.event === 'workerDied'), 5_000, 'workerDied event');
      const died = edge.events().find((event) => event.event === 'workerDied');
      expect(died).toMatchObject({ event: 'workerDied', pid: victim });
      console.log('node exit code after kill -9 of worker', victim, '→', code);
    } finally {
      if (child.exitCode === null && child.pid) child.kill('SIGKILL');
    }
  });
});
