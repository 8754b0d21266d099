import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

describe('a meeting spread over two workers (pipeToRouter)', () => {
  let node: TestNode;
  beforeAll(async () => {
    // A budget of 2 consumers per worker forces the third participant onto the second worker.
    node = await startTestNode({ NUM_WORKERS: '2', CONSUMERS_PER_WORKER: '2' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('places newcomers on another worker when the first is full, and media flows both ways', async () => {
    const meetingId = newMeetingId();
    const [aliceId, bobId, carolId] = [newParticipantId('alice'), newParticipantId('bob'), newParticipantId('carol')];
    const alice = await node.peer(meetingId, aliceId);
    await alice.publish({ audio: true, video: true });
    const bob = await node.peer(meetingId, bobId);
    await eventually(() => bob.consumersOf(aliceId).length === 2, 20_000, 'bob consumes alice');
    const carol = await node.peer(meetingId, carolId);
    await carol.publish({ audio: true, video: true });

    const room = node.node.rooms.rooms.get(meetingId);
    expect(room).toBeDefined();
    const routers = room?.routers ?? [];
    expect(routers).toHaveLength(2);
    const pids = routers.map((place) => place.slot.worker.pid);
    expect(new Set(pids).size).toBe(2);
    const placeOf = (id: string) => room?.participants.get(id)?.place.slot.worker.pid;
    console.log('worker pids per participant', { alice: placeOf(aliceId), bob: placeOf(bobId), carol: placeOf(carolId) });
    expect(placeOf(aliceId)).toBe(placeOf(bobId));
    expect(placeOf(carolId)).not.toBe(placeOf(aliceId));

    // Everyone receives everyone, across the pipe in both directions.
    await eventually(
      () =>
        carol.packetsFrom(aliceId, 'video') > 10 &&
        carol.packetsFrom(aliceId, 'audio') > 10 &&
        alice.packetsFrom(carolId, 'video') > 10 &&
        bob.packetsFrom(carolId, 'audio') > 10 &&
        bob.packetsFrom(aliceId, 'video') > 10,
      30_000,
      'media across both workers',
    );
    const counts = {
      carolFromAlice: carol.packetsFrom(aliceId, 'video'),
      aliceFromCarol: alice.packetsFrom(carolId, 'video'),
      bobFromCarol: bob.packetsFrom(carolId, 'video'),
    };
    console.log('video RTP packets across workers', counts);
    expect(Object.values(counts).every((count) => count > 10)).toBe(true);

    // Carol leaving empties the second router: it closes, the room stays on the first.
    await carol.close();
    await eventually(() => (room?.routers.length ?? 0) === 1, 10_000, 'second router closed');
    expect(room?.closed).toBe(false);
  });
});
