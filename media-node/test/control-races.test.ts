import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TEST_NODE_ID, eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { refusalCode, SignalingClient } from './peers/signaling-client.js';
import { publishSilently, silentRtpParameters } from './peers/signaling-only-publisher.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';

/*
 * Edge commands that land while a client's request waits on the mediasoup worker. The workers are
 * held with SIGSTOP so the window is certain (a loaded worker opens the same window for a few ms;
 * the commands themselves need no worker call).
 */

const SECRET = 'control-races';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('edge commands racing a client request', () => {
  let edge: FakeEdge;
  let node: TestNode;
  const stopped = new Set<number>();
  const stop = (pid: number) => {
    process.kill(pid, 'SIGSTOP');
    stopped.add(pid);
  };
  const resume = () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped.clear();
  };

  beforeAll(async () => {
    edge = await FakeEdge.start({ credential: nodeCredential(SECRET, TEST_NODE_ID) });
    // Two workers, one consumer each: the second joiner of a meeting with two producers needs a router on the other worker.
    node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(SECRET, TEST_NODE_ID), NUM_WORKERS: '2', CONSUMERS_PER_WORKER: '1' });
    await edge.waitFor(() => edge.hellos().length === 1, 15_000, 'hello');
  });
  afterAll(async () => {
    resume();
    await node?.stop();
    await edge?.stop();
  });

  it('closeParticipant while the participant is being seated: it must not end up in the room', async () => {
    const meetingId = newMeetingId();
    const victimId = newParticipantId('victim');
    try {
      for (const slot of node.node.pool.slots) stop(slot.worker.pid);
      const client = await SignalingClient.authenticate(node.url, await node.token(meetingId, victimId));
      await sleep(500); // token checked; its room is being opened on the held worker
      const result = await edge.command({ command: 'closeParticipant', meetingId, participantId: victimId, reason: 'removed by host' });
      expect(result.ok).toBe(true);
      resume();
      await eventually(() => node.node.rooms.rooms.get(meetingId)?.participants.has(victimId) === true || client.socket.readyState !== client.socket.OPEN, 10_000, 'join settled').catch(() => undefined);
      await sleep(300);
      const seated = node.node.rooms.rooms.get(meetingId)?.participants.has(victimId) === true;
      const canPublish = await refusalCode(client.request('createTransport', { direction: 'send' })).catch(() => 'socket closed');
      client.close();
      expect({ seated, canPublish }).toEqual({ seated: false, canPublish: expect.not.stringMatching(/^accepted$/) });
    } finally {
      resume();
    }
  });

  it('setPermissions (publish taken away) while a produce is in flight: the producer must not survive', async () => {
    const meetingId = newMeetingId();
    const speakerId = newParticipantId('speaker');
    const speaker = await SignalingClient.authenticate(node.url, await node.token(meetingId, speakerId));
    const watcher = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('watch'), { perms: ['subscribe'] }));
    await watcher.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    await watcher.request('createTransport', { direction: 'recv' });
    const { id: transportId } = await speaker.request('createTransport', { direction: 'send' });
    const room = node.node.rooms.rooms.get(meetingId)!;
    try {
      for (const slot of node.node.pool.slots) stop(slot.worker.pid);
      const produced = speaker.request('produce', { transportId, kind: 'audio', source: 'mic', rtpParameters: silentRtpParameters('audio', 4242) });
      await sleep(300); // the produce is at the held worker
      const result = await edge.command({ command: 'setPermissions', meetingId, participantId: speakerId, permissions: ['subscribe'] });
      expect(result.ok).toBe(true);
      resume();
      const outcome = await refusalCode(produced);
      await sleep(1_000);
      const participant = room.participants.get(speakerId)!;
      const liveProducers = [...participant.producers.values()].filter(({ producer }) => !producer.closed).length;
      const offered = watcher.all('newConsumer').length - watcher.all('consumerClosed').length;
      expect({ outcome, liveProducers, offered }).toEqual({ outcome: 'PERMISSION_DENIED', liveProducers: 0, offered: 0 });
    } finally {
      resume();
      speaker.close();
      watcher.close();
    }
  });

  it('closeMeeting while a join waits in the room: no room is left open for the ended meeting', async () => {
    const meetingId = newMeetingId();
    const host = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('host')));
    await publishSilently(host); // two producers: a newcomer needs 2 consumers, over the 1-per-worker budget
    const room = node.node.rooms.rooms.get(meetingId)!;
    const other = node.node.pool.slots.find((slot) => slot !== room.routers[0]!.slot)!;
    try {
      stop(other.worker.pid);
      const guest = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('guest')));
      await sleep(500); // the guest's join waits for a router on the held worker, in the room's queue
      const result = await edge.command({ command: 'closeMeeting', meetingId, reason: 'host ended the meeting', why: 'ended' });
      expect(result.ok).toBe(true);
      resume();
      await guest.closed;
      await sleep(2_000);
      const leftOpen = node.node.rooms.rooms.get(meetingId);
      const summary = leftOpen ? { closed: leftOpen.closed, participants: leftOpen.participants.size, routers: leftOpen.routers.length } : 'none';
      expect(summary, 'a room for the ended meeting is open on the node').toBe('none');
    } finally {
      resume();
      host.close();
    }
  });
});
