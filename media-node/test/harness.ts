import { loadConfig } from '../config.js';
import { createLog } from '../log.js';
import { MediaNode, type MediaNodeOptions } from '../node.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TestTokenIssuer, newMeetingId, newParticipantId } from './peers/tokens.js';
import { WeriftPeer } from './peers/werift-peer.js';
import type { Permission } from '../../schema/wire/index.js';

export const TEST_NODE_ID = 'media-test-1';

export interface TestNode {
  node: MediaNode;
  issuer: TestTokenIssuer;
  url: string;
  exits: number[];
  token(meetingId: string, participantId: string, extra?: { perms?: Permission[]; expiresIn?: number; nodeId?: string; secondsOnly?: boolean }): Promise<string>;
  peer(meetingId: string, participantId?: string, extra?: { perms?: Permission[]; receive?: boolean }): Promise<WeriftPeer>;
  stop(): Promise<void>;
}

/** Starts an in-process media node on free loopback ports, with a test token issuer. */
export async function startTestNode(env: Record<string, string> = {}, options: MediaNodeOptions = {}): Promise<TestNode> {
  const issuer = await TestTokenIssuer.create();
  const config = loadConfig({
    NODE_ID: TEST_NODE_ID,
    REGION: 'lon',
    MEDIA_TOKEN_PUBLIC_JWK: issuer.publicJwk,
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: '0',
    RTC_LISTEN_IP: '127.0.0.1',
    RTC_MIN_PORT: '0',
    NUM_WORKERS: '1',
    LOG_LEVEL: process.env['MEDIA_TEST_LOG_LEVEL'] ?? 'warn',
    ...env,
  });
  const exits: number[] = [];
  const node = await MediaNode.start(config, { log: createLog(config.logLevel, config.nodeId), exit: (code) => exits.push(code), ...options });
  const url = `ws://127.0.0.1:${node.port}`;
  const peers: WeriftPeer[] = [];
  const token: TestNode['token'] = (meetingId, participantId, extra = {}) =>
    issuer.sign({
      nodeId: extra.nodeId ?? config.nodeId,
      meetingId,
      participantId,
      ...(extra.perms ? { perms: extra.perms } : {}),
      ...(extra.expiresIn !== undefined ? { expiresIn: extra.expiresIn } : {}),
      ...(extra.secondsOnly ? { secondsOnly: true } : {}),
    });
  return {
    node,
    issuer,
    url,
    exits,
    token,
    async peer(meetingId, participantId = newParticipantId(), extra = {}) {
      const peer = await WeriftPeer.join({
        url,
        token: await token(meetingId, participantId, extra.perms ? { perms: extra.perms } : {}),
        ...(extra.receive !== undefined ? { receive: extra.receive } : {}),
      });
      peers.push(peer);
      return peer;
    },
    async stop() {
      await Promise.allSettled(peers.map((peer) => peer.close()));
      await node.shutdown(0, 'test finished');
    },
  };
}

export { newMeetingId, newParticipantId };

/** A test node registered with a fake edge (its hello received), for tests that send it commands. */
export async function startNodeBehindEdge(secret: string): Promise<{ edge: FakeEdge; node: TestNode; stop(): Promise<void> }> {
  const edge = await FakeEdge.start({ credential: nodeCredential(secret, TEST_NODE_ID) });
  const node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(secret, TEST_NODE_ID) });
  await edge.waitFor(() => edge.hellos().length === 1, 15_000, 'hello');
  return {
    edge,
    node,
    async stop() {
      await node.stop();
      await edge.stop();
    },
  };
}

/** Polls until the predicate holds (generous: real networks and real workers). */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
