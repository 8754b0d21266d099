import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEvent } from '../../schema/wire/index.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TEST_NODE_ID, eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { refusalCode, SignalingClient } from './peers/signaling-client.js';
import { silentRtpParameters } from './peers/signaling-only-publisher.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';

/*
 * Issue 13 point 10: host mute is enforced on the node. It pauses the participant's producers
 * there; the participant may unmute (resume, or produce anew) only while the meeting lets people
 * unmute themselves, and an unmute that ends a host mute is reported to the edge.
 */

const SECRET = 'host-mute-credential-secret';

describe('host mute on the media node', () => {
  let edge: FakeEdge;
  let node: TestNode;
  beforeAll(async () => {
    edge = await FakeEdge.start({ credential: nodeCredential(SECRET, TEST_NODE_ID) });
    node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(SECRET, TEST_NODE_ID) });
    await edge.waitFor(() => edge.hellos().length === 1, 15_000, 'hello');
  });
  afterAll(async () => {
    await node?.stop();
    await edge?.stop();
  });

  const unmutedEvents = (participantId: string) =>
    edge.events().filter((event): event is Extract<NodeEvent, { event: 'participantUnmuted' }> => event.event === 'participantUnmuted' && event.participantId === participantId);
  const producerOnNode = (meetingId: string, participantId: string, producerId: string) =>
    node.node.rooms.rooms.get(meetingId)?.participants.get(participantId)?.producers.get(producerId)?.producer;

  /** A participant over signaling alone (no WebRTC): enough to create, pause and resume producers. */
  async function signalingParticipant(meetingId: string, participantId: string) {
    const client = await SignalingClient.connect(`${node.url}/ws?token=${encodeURIComponent(await node.token(meetingId, participantId))}`);
    await client.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    const { id: transportId } = await client.request('createTransport', { direction: 'send' });
    const produce = (kind: 'audio' | 'video', ssrc: number, paused?: boolean) =>
      client.request('produce', {
        transportId,
        kind,
        source: kind === 'audio' ? 'mic' : 'camera',
        rtpParameters: silentRtpParameters(kind, ssrc),
        ...(paused !== undefined ? { paused } : {}),
      });
    return { client, produce };
  }

  it('pauses the producer on the node, and refuses resumeProducer until the host allows unmuting', async () => {
    const meetingId = newMeetingId();
    const aliceId = newParticipantId('alice');
    const alice = await node.peer(meetingId, aliceId);
    await alice.publish({ audio: true, video: true });
    const bob = await node.peer(meetingId);
    await eventually(() => bob.packetsFrom(aliceId, 'audio') > 5, 20_000, 'alice heard');
    const audioId = alice.producerIds.audio!;

    expect(await edge.command({ command: 'muteParticipant', meetingId, participantId: aliceId, kind: 'audio', participantsMayUnmute: false })).toMatchObject({ ok: true });
    expect(await alice.signaling.waitForNotification('producerPaused', (data) => data.producerId === audioId)).toMatchObject({ reason: 'muted by host' });
    expect(producerOnNode(meetingId, aliceId, audioId)?.paused).toBe(true);
    await bob.signaling.waitForNotification('consumerPaused');

    // The muted client tries to unmute itself: refused, and nobody hears it.
    expect(await refusalCode(alice.signaling.request('resumeProducer', { producerId: audioId }))).toBe('PERMISSION_DENIED');
    expect(producerOnNode(meetingId, aliceId, audioId)?.paused).toBe(true);
    const heard = bob.packetsFrom(aliceId, 'audio');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(bob.packetsFrom(aliceId, 'audio')).toBe(heard);
    // Video was not muted; pausing and resuming it stays the participant's own business.
    await alice.signaling.request('pauseProducer', { producerId: alice.producerIds.video! });
    await alice.signaling.request('resumeProducer', { producerId: alice.producerIds.video! });
    expect(unmutedEvents(aliceId)).toEqual([]);

    // The host lets people unmute themselves: the resume goes through, the edge hears of it.
    expect(await edge.command({ command: 'setUnmutePolicy', meetingId, participantsMayUnmute: true })).toMatchObject({ ok: true });
    await alice.signaling.request('resumeProducer', { producerId: audioId });
    expect(producerOnNode(meetingId, aliceId, audioId)?.paused).toBe(false);
    await eventually(() => bob.packetsFrom(aliceId, 'audio') > heard + 5, 10_000, 'alice heard again');
    await edge.waitFor(() => unmutedEvents(aliceId).length === 1, 10_000, 'participantUnmuted');
    expect(unmutedEvents(aliceId)[0]).toEqual({ event: 'participantUnmuted', meetingId, participantId: aliceId, kind: 'audio' });
  });

  it('with unmuting allowed (the default), the first resume ends the host mute and is reported once', async () => {
    const meetingId = newMeetingId();
    const carolId = newParticipantId('carol');
    const carol = await signalingParticipant(meetingId, carolId);
    const { producerId } = await carol.produce('video', 3333);
    expect(await edge.command({ command: 'muteParticipant', meetingId, participantId: carolId })).toMatchObject({ ok: true });
    expect(producerOnNode(meetingId, carolId, producerId)?.paused).toBe(true);
    await carol.client.request('resumeProducer', { producerId });
    expect(producerOnNode(meetingId, carolId, producerId)?.paused).toBe(false);
    await edge.waitFor(() => unmutedEvents(carolId).length === 1, 10_000, 'participantUnmuted');
    expect(unmutedEvents(carolId)[0]).toMatchObject({ kind: 'video' });
    // An ordinary pause and resume later is no host unmute.
    await carol.client.request('pauseProducer', { producerId });
    await carol.client.request('resumeProducer', { producerId });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(unmutedEvents(carolId)).toHaveLength(1);
    carol.client.close();
  });

  it('holds a muted participant to it when producing anew, reconnecting, or muted before connecting', async () => {
    const meetingId = newMeetingId();
    const daveId = newParticipantId('dave');
    // Muted (all kinds) while not on this node yet; the meeting forbids unmuting oneself.
    expect(await edge.command({ command: 'muteParticipant', meetingId, participantId: daveId, participantsMayUnmute: false })).toMatchObject({ ok: true });
    const dave = await signalingParticipant(meetingId, daveId);
    expect(await refusalCode(dave.produce('audio', 4444))).toBe('PERMISSION_DENIED');
    // A paused producer is fine (nothing is heard); resuming it is not.
    const { producerId } = await dave.produce('audio', 4445, true);
    expect(await refusalCode(dave.client.request('resumeProducer', { producerId }))).toBe('PERMISSION_DENIED');

    // A new session of the same participant is still muted.
    dave.client.close();
    await eventually(() => node.node.rooms.rooms.get(meetingId)?.participants.has(daveId) !== true, 10_000, 'dave gone');
    const again = await signalingParticipant(meetingId, daveId);
    expect(await refusalCode(again.produce('video', 4446))).toBe('PERMISSION_DENIED');

    // The host allows unmuting: producing unpaused now ends the mute of that kind only.
    expect(await edge.command({ command: 'setUnmutePolicy', meetingId, participantsMayUnmute: true })).toMatchObject({ ok: true });
    const { producerId: cameraId } = await again.produce('video', 4447);
    expect(producerOnNode(meetingId, daveId, cameraId)?.paused).toBe(false);
    await edge.waitFor(() => unmutedEvents(daveId).length === 1, 10_000, 'participantUnmuted');
    expect(unmutedEvents(daveId)[0]).toMatchObject({ kind: 'video' });
    expect(node.node.rooms.hostMutes.isMuted(meetingId, daveId, 'audio')).toBe(true);
    again.client.close();
  });
});
