import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../schema/wire/index.js';
import { refusalCode, SignalingClient } from './peers/signaling-client.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TEST_NODE_ID, eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

const SECRET = 'test-node-credential-secret';

describe('control channel to the edge (the test plays the edge)', () => {
  let edge: FakeEdge;
  let node: TestNode;
  beforeAll(async () => {
    edge = await FakeEdge.start({ credential: nodeCredential(SECRET, TEST_NODE_ID) });
    node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(SECRET, TEST_NODE_ID), NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
    await edge?.stop();
  });

  it('connects with its credential, says hello and sends heartbeats every second', async () => {
    await edge.waitFor(() => edge.hellos().length === 1 && edge.heartbeats().length >= 2, 15_000, 'hello and two heartbeats');
    const [hello] = edge.hellos();
    expect(hello?.node).toMatchObject({ nodeId: TEST_NODE_ID, region: 'lon', announcedAddress: '127.0.0.1' });
    expect(hello?.node.rtcPorts.map((port) => port.protocol).sort()).toEqual(['tcp', 'udp']);
    const heartbeat = edge.heartbeats().at(-1);
    expect(heartbeat).toMatchObject({ nodeId: TEST_NODE_ID, state: 'serving', load: { workersAlive: 1, workersTotal: 1, consumerCapacity: 500 } });
    expect(heartbeat?.load.cpuPerWorker).toHaveLength(1);
    // Quality for placement: the node's own event-loop lag and its inbound jitter (none yet).
    expect(heartbeat?.load.eventLoopLagMs).toBeGreaterThanOrEqual(0);
    expect(heartbeat?.load.jitterMs).toBe(0);
    expect(edge.refusedAttempts).toHaveLength(0);
  });

  it('a node with a wrong credential is refused by the edge and keeps retrying', async () => {
    const impostor = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential('wrong-secret', TEST_NODE_ID) });
    try {
      await edge.waitFor(() => edge.refusedAttempts.length >= 2, 15_000, 'two refused attempts');
      expect(edge.hellos()).toHaveLength(1);
    } finally {
      await impostor.stop();
    }
  });

  it('closeParticipant closes its transports and refuses its token afterwards; mute and recording commands answer', async () => {
    const meetingId = newMeetingId();
    const [aliceId, bobId] = [newParticipantId('alice'), newParticipantId('bob')];
    const alice = await node.peer(meetingId, aliceId);
    await alice.publish({ audio: true, video: true });
    const bob = await node.peer(meetingId, bobId);
    const carol = await node.peer(meetingId);
    await eventually(() => bob.packetsFrom(aliceId, 'video') > 5 && carol.packetsFrom(aliceId, 'audio') > 5, 20_000, 'media before commands');
    // Heartbeats carry the inbound streams' jitter once the stats sampler has seen them.
    await edge.waitFor(() => (edge.heartbeats().at(-1)?.load.jitterMs ?? 0) > 0, 15_000, 'jitter from inbound stream stats');
    const bobTransports = [...(node.node.rooms.rooms.get(meetingId)?.participants.get(bobId)?.transports.values() ?? [])].map((entry) => entry.transport);
    expect(bobTransports.length).toBeGreaterThan(0);

    const removed = await edge.command({ command: 'closeParticipant', meetingId, participantId: bobId, reason: 'removed by host' });
    expect(removed).toMatchObject({ ok: true });
    expect((await bob.signaling.closed).code).toBe(WS_CLOSE.REMOVED_BY_HOST);
    expect(bobTransports.every((transport) => transport.closed)).toBe(true);
    await edge.waitFor(() => edge.events().some((event) => event.event === 'participantLeft' && event.participantId === bobId), 10_000, 'participantLeft');

    // Bob's token (even a freshly signed one) is refused from now on.
    const again = await SignalingClient.connect(`${node.url}/ws?token=${await node.token(meetingId, bobId)}`);
    expect((await again.closed).code).toBe(WS_CLOSE.REMOVED_BY_HOST);
    expect(again.all('closed')[0]?.code).toBe('REMOVED_BY_HOST');

    const muted = await edge.command({ command: 'muteParticipant', meetingId, participantId: aliceId, kind: 'audio' });
    expect(muted).toMatchObject({ ok: true });
    const paused = await alice.signaling.waitForNotification('producerPaused');
    expect(paused.producerId).toBe(alice.producerIds.audio);
    await carol.signaling.waitForNotification('consumerPaused');

    const recording = await edge.command({ command: 'startRecording', meetingId, recordingId: '5b0c7a10-98d2-4bd4-8a58-0d3c1c2a9a11' });
    expect(recording).toMatchObject({ ok: false, error: { code: 'MEDIA_ERROR' } });
    const unknownRoom = await edge.command({ command: 'closeMeeting', meetingId: newMeetingId(), reason: 'x' });
    expect(unknownRoom).toMatchObject({ ok: false, error: { code: 'MEETING_NOT_FOUND' } });

    // The edge going away does not stop the meeting; the node reconnects and says hello again.
    const before = carol.packetsFrom(aliceId, 'video');
    edge.dropConnection();
    await edge.waitFor(() => edge.hellos().length >= 2, 15_000, 'reconnect');
    // Its hello lists the meetings it holds, so the edge can close any that moved meanwhile.
    expect(edge.hellos().at(-1)?.meetings).toEqual([meetingId]);
    expect(edge.hellos()[0]?.meetings).toEqual([]);
    await eventually(() => carol.packetsFrom(aliceId, 'video') > before + 10, 10_000, 'media during edge outage');

    const closedMeeting = await edge.command({ command: 'closeMeeting', meetingId, reason: 'host ended the meeting' });
    expect(closedMeeting).toMatchObject({ ok: true });
    expect((await alice.signaling.closed).code).toBe(WS_CLOSE.MEETING_ENDED);
    await edge.waitFor(() => edge.events().some((event) => event.event === 'roomClosed' && event.meetingId === meetingId), 10_000, 'roomClosed');
  });


  it('closeParticipant of someone who left the room: their session closes as expired, older tokens are refused, a fresh one is served', async () => {
    const meetingId = newMeetingId();
    const daveId = newParticipantId('dave');
    const oldToken = await node.token(meetingId, daveId);
    const dave = await SignalingClient.authenticate(node.url, oldToken);
    await dave.request('createTransport', { direction: 'recv' });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const letGo = await edge.command({ command: 'closeParticipant', meetingId, participantId: daveId, reason: 'left the meeting', tokensIssuedBefore: Date.now() });
    expect(letGo).toMatchObject({ ok: true });
    // Not "removed": the page reconnects through the room (media-link.ts) instead of ending the call.
    expect((await dave.closed).code).toBe(WS_CLOSE.TOKEN_EXPIRED);
    const replayed = await SignalingClient.authenticate(node.url, oldToken);
    expect(await refusalCode(replayed.request('createTransport', { direction: 'recv' }))).not.toBe('accepted');
    expect((await replayed.closed).code).toBe(WS_CLOSE.TOKEN_EXPIRED);

    await new Promise((resolve) => setTimeout(resolve, 20));
    const back = await SignalingClient.authenticate(node.url, await node.token(meetingId, daveId));
    expect(await refusalCode(back.request('createTransport', { direction: 'recv' }))).toBe('accepted');

    // A removal now refuses every token, and a later let-go does not narrow it.
    await edge.command({ command: 'closeParticipant', meetingId, participantId: daveId, reason: 'removed by host' });
    expect((await back.closed).code).toBe(WS_CLOSE.REMOVED_BY_HOST);
    await edge.command({ command: 'closeParticipant', meetingId, participantId: daveId, reason: 'left the meeting', tokensIssuedBefore: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const afterRemoval = await SignalingClient.authenticate(node.url, await node.token(meetingId, daveId));
    expect((await afterRemoval.closed).code).toBe(WS_CLOSE.REMOVED_BY_HOST);
  });
  it('drain: takes no new meetings, keeps current ones, exits when empty', async () => {
    const meetingId = newMeetingId();
    const first = await node.peer(meetingId);
    expect((await fetch(`http://127.0.0.1:${node.node.port}/health`)).status).toBe(200);

    expect(await edge.command({ command: 'drain', deadline: Date.now() + 60_000 })).toMatchObject({ ok: true });
    await edge.waitFor(() => edge.heartbeats().at(-1)?.state === 'draining', 10_000, 'draining heartbeat');
    expect((await fetch(`http://127.0.0.1:${node.node.port}/health`)).status).toBe(503);

    const newcomer = await SignalingClient.connect(`${node.url}/ws?token=${await node.token(newMeetingId(), newParticipantId())}`);
    expect((await newcomer.closed).code).toBe(WS_CLOSE.NODE_DRAINING);
    expect(newcomer.all('closed')[0]?.code).toBe('NODE_DRAINING');

    const second = await node.peer(meetingId); // the current meeting still takes people
    expect(node.node.rooms.rooms.get(meetingId)?.participants.size).toBe(2);
    expect(node.exits).toEqual([]);

    await first.close();
    await second.close();
    await eventually(() => node.exits.length > 0, 10_000, 'exit after drain');
    expect(node.exits).toEqual([0]);
  });
});
