import { afterAll, describe, expect, it } from 'vitest';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TestTokenIssuer } from './peers/tokens.js';
import { spawnMediaNode } from './spawn-node.js';

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
    const node = spawnMediaNode({
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
    });
    try {
      await edge.waitFor(() => edge!.hellos().length === 1, 60_000, 'hello from the spawned node');
      expect(node.workerPids).toHaveLength(2);
      const victim = node.workerPids[1]!;
      process.kill(victim, 'SIGKILL');
      const code = await node.waitExit(30_000);
      expect(code, node.output().slice(-2000)).not.toBe('timeout');
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      await edge.waitFor(() => edge!.events().some((event) => event.event === 'workerDied'), 5_000, 'workerDied event');
      expect(edge.events().find((event) => event.event === 'workerDied')).toMatchObject({ event: 'workerDied', pid: victim });
      console.log('node exit code after kill -9 of worker', victim, '→', code);
    } finally {
      node.kill();
    }
  });
});
