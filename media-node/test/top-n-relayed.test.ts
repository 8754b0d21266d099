import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCommandDataSchema, nodeCommandSchema, type NodeCommand, type NodeCommandData } from '../../schema/wire/index.js';
import { executeCommand } from '../control/commands.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import type { WeriftPeer } from './peers/werift-peer.js';

/** A command as it crosses the wire (schema-parsed, answer JSON round-tripped), run on a node. */
async function send(node: TestNode, command: NodeCommand): Promise<NodeCommandData | undefined> {
  const data = await executeCommand(nodeCommandSchema.parse(JSON.parse(JSON.stringify(command))), { rooms: node.node.rooms, recording: undefined, drain: () => undefined, emitEvent: () => undefined });
  return data === undefined ? undefined : nodeCommandDataSchema.parse(JSON.parse(JSON.stringify(data)));
}

describe('top-N audio over a cascade: relayed speakers compete by their levels on the receiving node', () => {
  let origin: TestNode;
  let relay: TestNode;
  beforeAll(async () => {
    [origin, relay] = await Promise.all([
      startTestNode({ NODE_ID: 'topn-origin', TOP_N_AUDIO: '3', TOP_N_AUDIO_HOLD_MS: '500' }),
      startTestNode({ NODE_ID: 'topn-relay', TOP_N_AUDIO: '3', TOP_N_AUDIO_HOLD_MS: '500' }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([origin?.stop(), relay?.stop()]);
  });

  it('a listener on the relaying node hears the three loudest of four relayed speakers', async () => {
    const meetingId = newMeetingId();
    const listenerId = newParticipantId('listener');
    const listener = await relay.peer(meetingId, listenerId, { perms: ['subscribe'] });
    // Quietest first: it takes a free place on both nodes, and must lose it by its level alone.
    const speakers: { id: string; peer: WeriftPeer }[] = [];
    for (const [index, level] of [50, 30, 20, 10].entries()) {
      const id = newParticipantId(`speaker${index}`);
      const peer = await origin.peer(meetingId, id, { receive: false });
      await peer.publish({ audio: true, video: false, audioLevel: level, speech: 'steady' });
      speakers.push({ id, peer });
    }
    const endOrigin = await send(origin, { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'topn-relay' });
    const endRelay = await send(relay, { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'topn-origin' });
    if (endOrigin?.kind !== 'pipeEnd' || endRelay?.kind !== 'pipeEnd') throw new Error('pipe ends expected');
    await send(origin, { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'topn-relay', remote: endRelay.pipe });
    await send(relay, { command: 'cascadeConnectPipe', meetingId, peerNodeId: 'topn-origin', remote: endOrigin.pipe });
    for (const { peer } of speakers) {
      const sent = await send(origin, { command: 'cascadeSendProducer', meetingId, peerNodeId: 'topn-relay', producerId: peer.producerIds.audio! });
      if (sent?.kind !== 'relayedProducer') throw new Error('relayed producer expected');
      await send(relay, { command: 'cascadeReceiveProducer', meetingId, peerNodeId: 'topn-origin', producer: sent.producer });
    }

    const [quietest, ...loud] = speakers as [(typeof speakers)[number], ...typeof speakers];
    const forwarded = (speaker: (typeof speakers)[number]) => {
      const participant = relay.node.rooms.rooms.get(meetingId)?.participants.get(listenerId);
      const consumer = [...(participant?.consumers.values() ?? [])].find((candidate) => candidate.producerId === speaker.peer.producerIds.audio);
      return consumer === undefined ? undefined : !consumer.paused;
    };
    await eventually(
      () => loud.every((speaker) => forwarded(speaker) === true) && forwarded(quietest) === false,
      20_000,
      'the three loudest relayed speakers selected (levels cross the pipe)',
    );
    const packets = () => speakers.map((speaker) => listener.packetsFrom(speaker.id, 'audio'));
    // A round first (packets already on their way when the quiet one paused may still arrive), then count.
    for (let round = 0; round < 2; round++) {
      const before = packets();
      await eventually(() => loud.every((speaker, index) => listener.packetsFrom(speaker.id, 'audio') > before[index + 1]! + 25), 20_000, 'relayed audio of the loudest');
      if (round === 1) expect(packets()[0]).toBe(before[0]);
    }
  });
});
