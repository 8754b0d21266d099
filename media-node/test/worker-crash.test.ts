import { afterAll, describe, expect, it } from 'vitest';
import type { RecordingControllerFactory } from '../rooms/recording-seam.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TEST_NODE_ID, eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { refusalCode, SignalingClient } from './peers/signaling-client.js';
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

/*
 * Shutting down waits for the recorder to finish what it recorded (RecordingController.close:
 * composing and uploading can take minutes). Meanwhile the node must not look like a serving node.
 */
const FINISHING_SECRET = 'worker-death-finishing';

describe('the node after a worker died, while the recorder finishes', () => {
  let edge: FakeEdge | undefined;
  let node: TestNode | undefined;
  let releaseRecorder: () => void = () => undefined;
  afterAll(async () => {
    releaseRecorder();
    await node?.stop();
    await edge?.stop();
  });

  it('takes no new meeting and never says hello as serving again', async () => {
    const recorderClosed = new Promise<void>((resolve) => (releaseRecorder = resolve));
    const recording: RecordingControllerFactory = () => ({
      start: async () => undefined,
      stop: async () => undefined,
      activeCount: () => 1,
      // A recording finishing (ffmpeg, upload) when the node shuts down.
      close: () => recorderClosed,
    });
    edge = await FakeEdge.start({ credential: nodeCredential(FINISHING_SECRET, TEST_NODE_ID) });
    node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(FINISHING_SECRET, TEST_NODE_ID), NUM_WORKERS: '2' }, { recording });
    await edge.waitFor(() => edge!.hellos().length === 1, 15_000, 'hello');

    process.kill(node.node.pool.slots[1]!.worker.pid, 'SIGKILL');
    await edge.waitFor(() => edge!.events().some((event) => event.event === 'workerDied'), 10_000, 'workerDied');
    expect(node.exits).toEqual([]); // still finishing the recording

    // A client with a valid token for a new meeting arrives now.
    const meetingId = newMeetingId();
    const client = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('late')));
    const admitted = await refusalCode(client.request('createTransport', { direction: 'recv' })).catch(() => 'socket closed');

    // The control link drops (edge restart): the node says hello again.
    edge.dropConnection();
    await edge.waitFor(() => edge!.hellos().length === 2, 10_000, 'second hello');
    const hello = edge.hellos()[1]!;
    const observed = { nodeState: node.node.state, admitted, roomOpened: node.node.rooms.rooms.has(meetingId), helloState: hello.state, helloMeetings: hello.meetings };
    client.close();
    releaseRecorder();
    await eventually(() => node!.exits.length > 0, 10_000, 'exit');
    expect(node.exits).toEqual([1]);
    expect(observed).toMatchObject({ admitted: expect.not.stringMatching(/^accepted$/), roomOpened: false });
    expect(observed.helloState).not.toBe('serving');
  });
});
