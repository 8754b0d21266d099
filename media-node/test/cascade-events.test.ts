import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeCommand, NodeCommandData, NodeEvent } from '../../schema/wire/index.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

const SECRET = 'test-node-credential-secret';
const [NODE_A, NODE_B] = ['events-node-a', 'events-node-b'] as const;
const CASCADE_EVENTS = new Set(['participantJoined', 'producerOpened', 'producerPaused', 'producerClosed']);

/** A node with its own fake edge: what the node reports about a meeting's media graph (docs/cascading.md). */
interface LinkedNode {
  node: TestNode;
  edge: FakeEdge;
  /** The cascade events the edge received for one meeting, in order. */
  events(meetingId: string): NodeEvent[];
  /** Sends a command over the control socket; resolves its answer's data, throws on an error answer. */
  command(command: NodeCommand): Promise<NodeCommandData | undefined>;
}

async function startLinkedNode(nodeId: string): Promise<LinkedNode> {
  const edge = await FakeEdge.start({ credential: nodeCredential(SECRET, nodeId) });
  const node = await startTestNode({ NODE_ID: nodeId, EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(SECRET, nodeId) });
  await edge.waitFor(() => edge.hellos().length > 0, 15_000, `${nodeId} connected`);
  return {
    node,
    edge,
    events: (meetingId) => edge.events().filter((event) => CASCADE_EVENTS.has(event.event) && 'meetingId' in event && event.meetingId === meetingId),
    async command(command) {
      const result = await edge.command(command);
      if (!result.ok) throw new Error(`${command.command} refused: ${result.error?.code}`);
      return result.data;
    },
  };
}

describe('cascade node events: what a node tells its edge about a meeting\'s media graph', () => {
  let a: LinkedNode;
  let b: LinkedNode;
  beforeAll(async () => {
    [a, b] = await Promise.all([startLinkedNode(NODE_A), startLinkedNode(NODE_B)]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.node.stop(), b?.node.stop()]);
    await Promise.allSettled([a?.edge.stop(), b?.edge.stop()]);
  });

  it('reports joins, producers opened, paused, resumed and closed, with their fields; never a relayed copy', async () => {
    const meetingId = newMeetingId();
    const aliceId = newParticipantId('alice');
    const alice = await a.node.peer(meetingId, aliceId);
    await a.edge.waitFor(() => a.events(meetingId).length >= 1, 10_000, 'participantJoined');
    expect(a.events(meetingId)).toEqual([{ event: 'participantJoined', meetingId, participantId: aliceId }]);

    await alice.publish({ audio: true, video: true });
    const audioId = alice.producerIds.audio!;
    const videoId = alice.producerIds.video!;
    await a.edge.waitFor(() => a.events(meetingId).filter((event) => event.event === 'producerOpened').length === 2, 10_000, 'producerOpened × 2');
    const opened = a.events(meetingId).filter((event) => event.event === 'producerOpened');
    expect(opened).toEqual(
      expect.arrayContaining([
        { event: 'producerOpened', meetingId, producerId: audioId, participantId: aliceId, kind: 'audio', source: 'mic', paused: false },
        { event: 'producerOpened', meetingId, producerId: videoId, participantId: aliceId, kind: 'video', source: 'camera', paused: false },
      ]),
    );

    // Pause and resume at the origin: one event each, in order.
    await alice.signaling.request('pauseProducer', { producerId: audioId });
    await alice.signaling.request('resumeProducer', { producerId: audioId });
    await a.edge.waitFor(() => a.events(meetingId).filter((event) => event.event === 'producerPaused').length === 2, 10_000, 'producerPaused × 2');
    expect(a.events(meetingId).filter((event) => event.event === 'producerPaused')).toEqual([
      { event: 'producerPaused', meetingId, producerId: audioId, paused: true },
      { event: 'producerPaused', meetingId, producerId: audioId, paused: false },
    ]);

    // Bob joins on node B, and the video is relayed A → B over the control sockets (as the RoomDO would).
    const bobId = newParticipantId('bob');
    const bob = await b.node.peer(meetingId, bobId, { perms: ['subscribe'] });
    await b.edge.waitFor(() => b.events(meetingId).length >= 1, 10_000, 'participantJoined on B');
    const endA = await a.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: NODE_B });
    const endB = await b.command({ command: 'cascadeOpenPipe', meetingId, peerNodeId: NODE_A });
    if (endA?.kind !== 'pipeEnd' || endB?.kind !== 'pipeEnd') throw new Error('pipe ends expected');
    await a.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: NODE_B, remote: endB.pipe });
    await b.command({ command: 'cascadeConnectPipe', meetingId, peerNodeId: NODE_A, remote: endA.pipe });
    const sent = await a.command({ command: 'cascadeSendProducer', meetingId, peerNodeId: NODE_B, producerId: videoId });
    if (sent?.kind !== 'relayedProducer') throw new Error('relayed producer expected');
    await b.command({ command: 'cascadeReceiveProducer', meetingId, peerNodeId: NODE_A, producer: sent.producer });
    await eventually(() => bob.packetsFrom(aliceId, 'video') > 10, 30_000, 'relayed video at bob');
    // A mirrored pause of the copy and the copy's close stay quiet on B: the RoomDO knows them already.
    await b.command({ command: 'cascadeSetProducerPaused', meetingId, peerNodeId: NODE_A, producerId: videoId, paused: true });
    await bob.signaling.waitForNotification('consumerPaused');

    // Alice closes her camera: producerClosed on A; B's copy closes on the RoomDO's word.
    await alice.signaling.request('closeProducer', { producerId: videoId });
    await a.edge.waitFor(() => a.events(meetingId).some((event) => event.event === 'producerClosed'), 10_000, 'producerClosed');
    await b.command({ command: 'cascadeCloseProducer', meetingId, peerNodeId: NODE_A, producerId: videoId });
    await bob.signaling.waitForNotification('consumerClosed');

    // Leaving closes the rest: producerClosed for the mic too.
    await alice.close();
    await a.edge.waitFor(() => a.events(meetingId).filter((event) => event.event === 'producerClosed').length === 2, 10_000, 'producerClosed × 2');
    expect(a.events(meetingId).slice(3)).toEqual([
      { event: 'producerPaused', meetingId, producerId: audioId, paused: true },
      { event: 'producerPaused', meetingId, producerId: audioId, paused: false },
      { event: 'producerClosed', meetingId, producerId: videoId },
      { event: 'producerClosed', meetingId, producerId: audioId },
    ]);
    // Node B only ever reported its own participant. An event about the copy would have been sent
    // before the answer to the command that caused it (one socket, in order), so this is final.
    expect(b.events(meetingId)).toEqual([{ event: 'participantJoined', meetingId, participantId: bobId }]);
  });

  it('reports a producer created paused as paused', async () => {
    const meetingId = newMeetingId();
    const carolId = newParticipantId('carol');
    const carol = await a.node.peer(meetingId, carolId);
    const { id: transportId } = await carol.signaling.request('createTransport', { direction: 'send' });
    const { producerId } = await carol.signaling.request('produce', {
      transportId,
      kind: 'audio',
      source: 'mic',
      paused: true,
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }], encodings: [{ ssrc: 4242 }], rtcp: { cname: 'carol' } },
    });
    await a.edge.waitFor(() => a.events(meetingId).some((event) => event.event === 'producerOpened'), 10_000, 'producerOpened');
    expect(a.events(meetingId).find((event) => event.event === 'producerOpened')).toEqual({
      event: 'producerOpened',
      meetingId,
      producerId,
      participantId: carolId,
      kind: 'audio',
      source: 'mic',
      paused: true,
    });
  });
});
