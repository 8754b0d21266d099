import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCommandDataSchema, nodeCommandSchema, type NodeCommand, type NodeCommandData } from '../../schema/wire/index.js';
import { executeCommand } from '../control/commands.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

/**
 * A relay the RoomDO tries again (its first receive failed: a lost answer, a timeout). The node
 * answers with the producer's pause state as it is now: a pause or resume in between was mirrored
 * to no copy, and a stale "paused" leaves the listeners on the other node hearing nothing while the
 * speaker talks. The RoomDO's side is played here as in cascade.test.ts.
 */
const NODE_IDS = ['retry-node-1', 'retry-node-2'] as const;
type NodeId = (typeof NODE_IDS)[number];

describe('a relay sent again', () => {
  let nodes: Record<NodeId, TestNode>;
  beforeAll(async () => {
    const [one, two] = await Promise.all(NODE_IDS.map((id) => startTestNode({ NODE_ID: id })));
    nodes = { 'retry-node-1': one!, 'retry-node-2': two! };
  });
  afterAll(async () => {
    await Promise.allSettled(Object.values(nodes ?? {}).map((node) => node.stop()));
  });

  async function send(nodeId: NodeId, command: NodeCommand): Promise<NodeCommandData | undefined> {
    const parsed = nodeCommandSchema.parse(JSON.parse(JSON.stringify(command)));
    const data = await executeCommand(parsed, { rooms: nodes[nodeId].node.rooms, recording: undefined, drain: () => undefined, emitEvent: () => undefined });
    return data === undefined ? undefined : nodeCommandDataSchema.parse(JSON.parse(JSON.stringify(data)));
  }

  /**
   * A muted speaker on node 1, a listener on node 2, the pipe between them connected, and the mic
   * sent down it (paused, rightly); `relay` sends it again and answers what node 2 must receive.
   */
  async function mutedSpeakerRelayed() {
    const meetingId = newMeetingId();
    const publisherId = newParticipantId('pub');
    const publisher = await nodes['retry-node-1'].peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: false });
    const mic = publisher.producerIds.audio!;
    await publisher.signaling.request('pauseProducer', { producerId: mic });
    const listener = await nodes['retry-node-2'].peer(meetingId, newParticipantId('listen'), { perms: ['subscribe'] });
    const end1 = await send('retry-node-1', { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'retry-node-2' });
    const end2 = await send('retry-node-2', { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'retry-node-1' });
    if (end1?.kind !== 'pipeEnd' || end2?.kind !== 'pipeEnd') throw new Error('pipe ends expected');
    await send('retry-node-1', { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'retry-node-2', remote: end2.pipe });
    await send('retry-node-2', { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'retry-node-1', remote: end1.pipe });
    const relay = async () => {
      const sent = await send('retry-node-1', { command: 'cascadeSendProducer', meetingId, peerNodeId: 'retry-node-2', producerId: mic });
      if (sent?.kind !== 'relayedProducer') throw new Error('relayed producer expected');
      return sent.producer;
    };
    const receive = (producer: Awaited<ReturnType<typeof relay>>) => send('retry-node-2', { command: 'cascadeReceiveProducer', meetingId, peerNodeId: 'retry-node-1', producer });
    const unmute = () => publisher.signaling.request('resumeProducer', { producerId: mic });
    const heard = () => eventually(() => listener.packetsFrom(publisherId, 'audio') > 10, 8_000, 'the listener on node 2 to get audio of the unmuted speaker');
    const close = () => Promise.all([publisher.close(), listener.close()]);
    return { relay, receive, unmute, heard, close };
  }

  it("answers the producer's current pause state when the send is repeated (the first receive was lost, the speaker unmuted meanwhile)", async () => {
    const call = await mutedSpeakerRelayed();
    expect((await call.relay()).paused).toBe(true);
    // Its cascadeReceiveProducer on node 2 failed (lost answer, timeout): no copy is recorded, so the
    // unmute below is mirrored nowhere; the RoomDO tries the relay again at node 2's next join.
    await call.unmute();
    const again = await call.relay();
    expect(again.paused, 'cascadeSendProducer answers paused although the mic is live').toBe(false);
    await call.receive(again);
    await call.heard();
    await call.close();
  });

  it('a copy received again with the live pause state follows it (it was received paused before)', async () => {
    const call = await mutedSpeakerRelayed();
    // Received paused; its answer was lost, so the unmute below reached no copy.
    await call.receive(await call.relay());
    await call.unmute();
    await call.receive(await call.relay());
    await call.heard();
    await call.close();
  });
});
