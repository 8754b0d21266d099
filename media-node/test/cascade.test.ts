import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, nodeCommandDataSchema, nodeCommandSchema, type NodeCommand, type NodeCommandData, type RelayedProducer } from '../../schema/wire/index.js';
import { cascadeOf } from '../cascade/meeting-cascade.js';
import { executeCommand } from '../control/commands.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

const SECRET = 'test-node-credential-secret';
const NODE_IDS = ['cascade-node-1', 'cascade-node-2', 'cascade-node-3'] as const;
type NodeId = (typeof NODE_IDS)[number];

/**
 * Plays the RoomDO's part of cascading (docs/cascading.md): sends each node the cascade commands
 * exactly as they cross the wire (parsed with the command schema, answers JSON round-tripped and
 * parsed with the answer schema), and carries each node's answer to the other node. The hop
 * through the control socket is left out here: node.ts does not put `data` on commandResult yet.
 */
class CascadeDirector {
  readonly relays: { producerId: string; from: NodeId; to: NodeId }[] = [];
  private readonly pipes = new Set<string>();

  constructor(
    private readonly nodes: Record<NodeId, TestNode>,
    private readonly meetingId: string,
  ) {}

  async send(nodeId: NodeId, command: NodeCommand): Promise<NodeCommandData | undefined> {
    const parsed = nodeCommandSchema.parse(JSON.parse(JSON.stringify(command)));
    const data = await executeCommand(parsed, { rooms: this.nodes[nodeId].node.rooms, recording: undefined, drain: () => undefined, emitEvent: () => undefined });
    return data === undefined ? undefined : nodeCommandDataSchema.parse(JSON.parse(JSON.stringify(data)));
  }

  /** Opens and connects the pipe between two nodes once. */
  async pipe(a: NodeId, b: NodeId): Promise<void> {
    const key = [a, b].sort().join('|');
    if (this.pipes.has(key)) return;
    const endA = await this.send(a, { command: 'cascadeOpenPipe', meetingId: this.meetingId, peerNodeId: b });
    const endB = await this.send(b, { command: 'cascadeOpenPipe', meetingId: this.meetingId, peerNodeId: a });
    if (endA?.kind !== 'pipeEnd' || endB?.kind !== 'pipeEnd') throw new Error('cascadeOpenPipe answers a pipe end');
    await this.send(a, { command: 'cascadeConnectPipe', meetingId: this.meetingId, peerNodeId: b, remote: endB.pipe });
    await this.send(b, { command: 'cascadeConnectPipe', meetingId: this.meetingId, peerNodeId: a, remote: endA.pipe });
    this.pipes.add(key);
  }

  async relay(producerId: string, from: NodeId, to: NodeId): Promise<RelayedProducer> {
    await this.pipe(from, to);
    const sent = await this.send(from, { command: 'cascadeSendProducer', meetingId: this.meetingId, peerNodeId: to, producerId });
    if (sent?.kind !== 'relayedProducer') throw new Error('cascadeSendProducer answers a relayed producer');
    await this.send(to, { command: 'cascadeReceiveProducer', meetingId: this.meetingId, peerNodeId: from, producer: sent.producer });
    this.relays.push({ producerId, from, to });
    return sent.producer;
  }

  /** The producer closed at its origin: every node it was relayed to drops its copy. */
  async producerClosed(producerId: string): Promise<void> {
    for (const relay of this.relays.filter((candidate) => candidate.producerId === producerId)) {
      await this.send(relay.to, { command: 'cascadeCloseProducer', meetingId: this.meetingId, peerNodeId: relay.from, producerId });
      await this.send(relay.from, { command: 'cascadeCloseProducer', meetingId: this.meetingId, peerNodeId: relay.to, producerId });
    }
  }
}

describe('one meeting over three nodes: producers relayed over SRTP pipe transports', () => {
  let nodes: Record<NodeId, TestNode>;
  let edge2: FakeEdge;
  beforeAll(async () => {
    // Node 2 also has a control link, to show cascade commands arrive over the real socket, and two
    // workers with a budget of 2 consumers each, so its second receiver sits on another router.
    edge2 = await FakeEdge.start({ credential: nodeCredential(SECRET, 'cascade-node-2') });
    const [one, two, three] = await Promise.all([
      startTestNode({ NODE_ID: 'cascade-node-1' }),
      startTestNode({
        NODE_ID: 'cascade-node-2',
        EDGE_URL: edge2.url,
        NODE_CREDENTIAL: nodeCredential(SECRET, 'cascade-node-2'),
        NUM_WORKERS: '2',
        CONSUMERS_PER_WORKER: '2',
      }),
      startTestNode({ NODE_ID: 'cascade-node-3' }),
    ]);
    nodes = { 'cascade-node-1': one, 'cascade-node-2': two, 'cascade-node-3': three };
  });
  afterAll(async () => {
    await Promise.allSettled(Object.values(nodes ?? {}).map((node) => node.stop()));
    await edge2?.stop();
  });

  it('relays a publisher on node 1 to receivers on nodes 2 and 3 (star and chain), once per node, and closes the copies with the origin', async () => {
    const meetingId = newMeetingId();
    const director = new CascadeDirector(nodes, meetingId);
    const [node1, node2, node3] = NODE_IDS.map((id) => nodes[id]);
    const publisherId = newParticipantId('pub');
    const publisher = await node1!.peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: true });
    const receiver2 = await node2!.peer(meetingId, newParticipantId('recv2'), { perms: ['subscribe'] });
    const receiver3 = await node3!.peer(meetingId, newParticipantId('recv3'), { perms: ['subscribe'] });

    const room1 = node1!.node.rooms.rooms.get(meetingId)!;
    const producers = [...room1.producers()];
    expect(producers.map((producer) => producer.kind).sort()).toEqual(['audio', 'video']);
    const audio = producers.find((producer) => producer.kind === 'audio')!;
    const video = producers.find((producer) => producer.kind === 'video')!;

    // Nothing can be piped where the meeting has no room, nor a producer the node does not have.
    await expect(director.send('cascade-node-1', { command: 'cascadeOpenPipe', meetingId: newMeetingId(), peerNodeId: 'cascade-node-2' })).rejects.toMatchObject({
      code: 'MEETING_NOT_FOUND',
    });
    await director.pipe('cascade-node-1', 'cascade-node-2');
    await expect(
      director.send('cascade-node-1', { command: 'cascadeSendProducer', meetingId, peerNodeId: 'cascade-node-2', producerId: crypto.randomUUID() }),
    ).rejects.toBeInstanceOf(AppError);

    // Star: both tracks 1 → 2, audio 1 → 3. Chain: video 1 → 2 → 3 (node 2 forwards its copy).
    const relayedVideo = await director.relay(video.id, 'cascade-node-1', 'cascade-node-2');
    expect(relayedVideo).toMatchObject({ producerId: video.id, participantId: publisherId, kind: 'video', source: 'camera', paused: false });
    await director.relay(audio.id, 'cascade-node-1', 'cascade-node-2');
    await director.relay(audio.id, 'cascade-node-1', 'cascade-node-3');
    await director.relay(video.id, 'cascade-node-2', 'cascade-node-3');
    const pipe12 = cascadeOf(room1).pipeTo('cascade-node-2')!;
    const srtp = (await pipe12.transport.dump()).srtpParameters;
    expect(srtp?.cryptoSuite).toMatch(/AES/);

    // Receivers on nodes 2 and 3 see the publisher like any participant, and get its RTP.
    for (const receiver of [receiver2, receiver3]) {
      await eventually(() => receiver.consumersOf(publisherId).length === 2, 20_000, 'consumers of the relayed publisher');
      expect(receiver.consumersOf(publisherId).map((consumer) => consumer.source).sort()).toEqual(['camera', 'mic']);
      await eventually(() => receiver.packetsFrom(publisherId, 'audio') > 10 && receiver.packetsFrom(publisherId, 'video') > 10, 30_000, 'relayed RTP');
    }

    // A second receiver on node 2 reuses the relayed copies: still one pipe consumer per producer.
    // It is placed on node 2's second worker: the relayed copies reach it like local producers.
    const late2Id = newParticipantId('late2');
    const lateReceiver2 = await node2!.peer(meetingId, late2Id, { perms: ['subscribe'] });
    await eventually(() => lateReceiver2.packetsFrom(publisherId, 'audio') > 10 && lateReceiver2.packetsFrom(publisherId, 'video') > 10, 30_000, 'RTP for the late receiver');
    const room2 = node2!.node.rooms.rooms.get(meetingId)!;
    expect(room2.routers).toHaveLength(2);
    expect(room2.participants.get(late2Id)?.place).toBe(room2.routers[1]);
    const again = await director.send('cascade-node-1', { command: 'cascadeSendProducer', meetingId, peerNodeId: 'cascade-node-2', producerId: video.id });
    expect(again).toEqual({ kind: 'relayedProducer', producer: relayedVideo });
    expect([...cascadeOf(room1).pipeTo('cascade-node-2')!.sending].sort()).toEqual([audio.id, video.id].sort());
    expect(cascadeOf(room1).peers.sort()).toEqual(['cascade-node-2', 'cascade-node-3']);
    const consumersOnPipe12 = (await pipe12.transport.dump()).consumerIds;
    expect(consumersOnPipe12).toHaveLength(2);

    // A mute at the origin is mirrored, so node 2's consumers are told.
    const videoConsumer2 = receiver2.consumersOf(publisherId).find((consumer) => consumer.kind === 'video')!;
    await director.send('cascade-node-2', { command: 'cascadeSetProducerPaused', meetingId, peerNodeId: 'cascade-node-1', producerId: video.id, paused: true });
    await receiver2.signaling.waitForNotification('consumerPaused', (data) => data.consumerId === videoConsumer2.consumerId);
    await director.send('cascade-node-2', { command: 'cascadeSetProducerPaused', meetingId, peerNodeId: 'cascade-node-1', producerId: video.id, paused: false });
    await receiver2.signaling.waitForNotification('consumerResumed', (data) => data.consumerId === videoConsumer2.consumerId);

    // Node 3's last local participant leaves: node 3 closes its part (room and pipes) and nothing
    // else — the meeting goes on on nodes 1 and 2, and node 3 still admits the meeting later.
    const room3 = node3!.node.rooms.rooms.get(meetingId)!;
    const pipe32 = cascadeOf(room3).pipeTo('cascade-node-2')!.transport;
    await receiver3.close();
    await eventually(() => room3.closed && pipe32.closed, 15_000, 'node 3 closed its part');
    expect(room1.closed).toBe(false);
    // The RoomDO (on node 3's roomClosed event) closes the other ends, here over node 2's real control socket.
    await edge2.waitFor(() => edge2.hellos().length === 1, 15_000, 'node 2 connected');
    const result = await edge2.command({ command: 'cascadeClosePipe', meetingId, peerNodeId: 'cascade-node-3' });
    expect(result).toMatchObject({ ok: true });
    await director.send('cascade-node-1', { command: 'cascadeClosePipe', meetingId, peerNodeId: 'cascade-node-3' });
    expect(cascadeOf(room2).peers).toEqual(['cascade-node-1']);
    expect(cascadeOf(room1).peers).toEqual(['cascade-node-2']);
    const before = receiver2.packetsFrom(publisherId, 'video');
    await eventually(() => receiver2.packetsFrom(publisherId, 'video') > before + 10, 15_000, 'node 2 still receives');
    const back3 = await node3!.peer(meetingId, newParticipantId('back3'), { perms: ['subscribe'] });
    expect(node3!.node.rooms.rooms.get(meetingId)?.participants.size).toBe(1);
    await back3.close();

    // The publisher leaves node 1: on the RoomDO's word the relayed copies close on node 2, and its
    // receivers are told their consumers closed.
    const closedAtOrigin: string[] = [];
    room1.on('producerRemoved', (removed) => closedAtOrigin.push(removed.id));
    const consumerIds = [...receiver2.consumersOf(publisherId), ...lateReceiver2.consumersOf(publisherId)].map((consumer) => consumer.consumerId);
    await publisher.close();
    await eventually(() => closedAtOrigin.length === 2, 15_000, 'producers closed on node 1');
    for (const producerId of closedAtOrigin) await director.producerClosed(producerId);
    await eventually(() => room2.producerCount === 0, 15_000, 'relayed copies closed on node 2');
    for (const [receiver, ids] of [
      [receiver2, consumerIds.slice(0, 2)],
      [lateReceiver2, consumerIds.slice(2)],
    ] as const) {
      for (const consumerId of ids) await receiver.signaling.waitForNotification('consumerClosed', (data) => data.consumerId === consumerId);
    }
    // Closing what is gone already is a no-op (the RoomDO may repeat it after a lost answer).
    await expect(director.send('cascade-node-2', { command: 'cascadeCloseProducer', meetingId, peerNodeId: 'cascade-node-1', producerId: video.id })).resolves.toBeUndefined();
    expect(room2.closed).toBe(false);
  });

  it("a node's room held by its recording outlives its last participant while the meeting goes on on another node, and closes once that node's part is gone", async () => {
    const meetingId = newMeetingId();
    const director = new CascadeDirector(nodes, meetingId);
    const [node1, node2] = [nodes['cascade-node-1'], nodes['cascade-node-2']];
    const publisherId = newParticipantId('pub');
    const publisher = await node1.peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: false });
    const listener = await node2.peer(meetingId, newParticipantId('listen'), { perms: ['subscribe'] });
    const [mic] = [...node1.node.rooms.rooms.get(meetingId)!.producers()];
    await director.relay(mic!.id, 'cascade-node-1', 'cascade-node-2');
    await eventually(() => listener.packetsFrom(publisherId, 'audio') > 10, 30_000, 'relayed RTP');
    const room2 = node2.node.rooms.rooms.get(meetingId)!;
    const release = room2.hold(); // as a recording of the meeting on node 2 does

    // Node 2's last local participant leaves: the meeting goes on on node 1, and the room (with
    // the recording capturing it) stays.
    await listener.close();
    await eventually(() => room2.participants.size === 0, 10_000, 'listener gone');
    expect([room2.closed, node2.node.rooms.rooms.get(meetingId) === room2]).toEqual([false, true]);

    // The publisher closes their mic on node 1, where the meeting goes on: nothing is relayed any
    // more, and the room stays (the recording goes on; it ended here before).
    await director.producerClosed(mic!.id);
    await eventually(() => room2.producerCount === 0, 10_000, 'relayed copy closed on node 2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([room2.closed, node2.node.rooms.rooms.get(meetingId) === room2]).toEqual([false, true]);

    // Node 1's part is gone (the RoomDO closes the pipe to it): the room closes.
    await director.send('cascade-node-2', { command: 'cascadeClosePipe', meetingId, peerNodeId: 'cascade-node-1' });
    await eventually(() => room2.closed && !node2.node.rooms.rooms.has(meetingId), 10_000, 'node 2 closed its part');
    release();
    await publisher.close();
  });

  it('a relay of a source its owner publishes on this node (they moved here) is not offered: nobody here gets the older one after the newer', async () => {
    const meetingId = newMeetingId();
    const director = new CascadeDirector(nodes, meetingId);
    const movingId = newParticipantId('moving');
    const before = await nodes['cascade-node-1'].peer(meetingId, movingId);
    await before.publish({ audio: true, video: false });
    const after = await nodes['cascade-node-2'].peer(meetingId, movingId);
    await after.publish({ audio: true, video: false });
    const room2 = nodes['cascade-node-2'].node.rooms.rooms.get(meetingId)!;
    expect(room2.producerCount).toBe(1);
    const [oldMic] = [...nodes['cascade-node-1'].node.rooms.rooms.get(meetingId)!.producers()];
    await director.relay(oldMic!.id, 'cascade-node-1', 'cascade-node-2');
    expect(room2.producerCount).toBe(1);
    expect([...room2.producers()].map((producer) => producer.id)).not.toContain(oldMic!.id);
    await Promise.all([before.close(), after.close()]);
  });

  it('refuses what would corrupt the media graph, and bad commands at the schema', async () => {
    const meetingId = newMeetingId();
    const director = new CascadeDirector(nodes, meetingId);
    const publisherId = newParticipantId('pub');
    const publisher = await nodes['cascade-node-1'].peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: false });
    const receiver = await nodes['cascade-node-3'].peer(meetingId, newParticipantId('recv'), { perms: ['subscribe'] });
    const [audio] = [...nodes['cascade-node-1'].node.rooms.rooms.get(meetingId)!.producers()];

    // Relaying needs the pipe first.
    await expect(director.send('cascade-node-1', { command: 'cascadeSendProducer', meetingId, peerNodeId: 'cascade-node-3', producerId: audio!.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const relayed = await director.relay(audio!.id, 'cascade-node-1', 'cascade-node-3');
    await eventually(() => receiver.packetsFrom(publisherId, 'audio') > 10, 30_000, 'relayed audio');
    // Connecting a pipe to a different end, sending a producer back where it came from, or
    // receiving a producer the node already has: refused, and nothing changes. Opening an open
    // pipe answers its end again.
    const end3 = await director.send('cascade-node-3', { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'cascade-node-1' });
    if (end3?.kind !== 'pipeEnd') throw new Error('pipe end expected');
    await expect(
      director.send('cascade-node-1', { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'cascade-node-3', remote: { ...end3.pipe, port: end3.pipe.port === 9 ? 10 : 9 } }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(director.send('cascade-node-3', { command: 'cascadeSendProducer', meetingId, peerNodeId: 'cascade-node-1', producerId: audio!.id })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(director.send('cascade-node-1', { command: 'cascadeReceiveProducer', meetingId, peerNodeId: 'cascade-node-3', producer: relayed })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // Repeating the relay is a no-op: one copy, still flowing.
    await director.relay(audio!.id, 'cascade-node-1', 'cascade-node-3');
    expect(nodes['cascade-node-3'].node.rooms.rooms.get(meetingId)?.producerCount).toBe(1);
    const before = receiver.packetsFrom(publisherId, 'audio');
    await eventually(() => receiver.packetsFrom(publisherId, 'audio') > before + 10, 15_000, 'audio still flowing');

    // The schema refuses malformed cascade commands before they reach a node.
    const bad = [
      { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'cascade-node-3', remote: { ...end3.pipe, srtpParameters: { cryptoSuite: 'NULL', keyBase64: 'x' } } },
      { command: 'cascadeReceiveProducer', meetingId, peerNodeId: 'cascade-node-3', producer: { ...relayed, producerId: 'not-a-uuid' } },
      { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'Not A Node' },
    ];
    for (const command of bad) expect(nodeCommandSchema.safeParse(command).success).toBe(false);

    // Closing the pipe on the receiving node drops the relayed copy; the meeting goes on there.
    await director.send('cascade-node-3', { command: 'cascadeClosePipe', meetingId, peerNodeId: 'cascade-node-1' });
    const room3 = nodes['cascade-node-3'].node.rooms.rooms.get(meetingId)!;
    expect(room3.producerCount).toBe(0);
    expect(room3.closed).toBe(false);
    await receiver.signaling.waitForNotification('consumerClosed');
  });
});
