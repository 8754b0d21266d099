import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

/**
 * Joining a room that has media: the node offers every consumer in one burst, every offer but the
 * last marked `more`, so the browser negotiates them in one round (edge/web's RemoteTracks holds
 * the burst; offer-burst.unit.test.ts). A track published later is offered on its own.
 */
describe('what a joiner is offered', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('the room’s tracks in one burst, a later track alone', async () => {
    const meetingId = newMeetingId();
    const publishers = await Promise.all(['host', 'guest'].map((name) => node.peer(meetingId, newParticipantId(name), { receive: false })));
    for (const publisher of publishers) await publisher.publish({ audio: true, video: true });
    // A producer is listed in the room just after its produce is answered: join once all four are.
    await eventually(() => [...(node.node.rooms.rooms.get(meetingId)?.producers() ?? [])].length === 4, 10_000, 'four producers listed');

    const joiner = await node.peer(meetingId, newParticipantId('joiner'));
    await eventually(() => joiner.signaling.all('newConsumer').length === 4, 20_000, 'four offers');
    const burst = joiner.signaling.all('newConsumer');
    expect(burst.map((offer) => offer.more ?? false)).toEqual([true, true, true, false]);
    const offered = burst.map((offer) => offer.producerId).sort();
    expect(offered).toEqual(publishers.flatMap((publisher) => [publisher.producerIds.audio, publisher.producerIds.video]).sort());

    const late = await node.peer(meetingId, newParticipantId('late'), { receive: false });
    await late.publish({ audio: true, video: false });
    await eventually(() => joiner.signaling.all('newConsumer').length === 5, 20_000, 'the later track offered');
    expect(joiner.signaling.all('newConsumer')[4]).toMatchObject({ producerId: late.producerIds.audio });
    expect(joiner.signaling.all('newConsumer')[4]!.more).toBeUndefined();
  });

  it('a new track is offered after the room’s prepare steps, and a step that never ends holds nobody for good', async () => {
    const meetingId = newMeetingId();
    const viewer = await node.peer(meetingId, newParticipantId('viewer'));
    const room = node.node.rooms.rooms.get(meetingId)!;
    const prepared: string[] = [];
    const offeredBeforePrepared: boolean[] = [];
    const stopPreparing = room.prepareOffers(async (producer) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      offeredBeforePrepared.push(viewer.signaling.all('newConsumer').some((offer) => offer.producerId === producer.id));
      prepared.push(producer.id);
    });
    const neverEnds = room.prepareOffers(() => new Promise<void>(() => undefined));
    const publisher = await node.peer(meetingId, newParticipantId('publisher'), { receive: false });
    await publisher.publish({ audio: true, video: false });
    await eventually(() => viewer.signaling.all('newConsumer').length === 1, 20_000, 'the track offered despite a step that never ends');
    expect(prepared).toEqual([publisher.producerIds.audio]);
    expect(offeredBeforePrepared).toEqual([false]);

    // Unregistered, the steps no longer run.
    stopPreparing();
    neverEnds();
    const second = await node.peer(meetingId, newParticipantId('second'), { receive: false });
    await second.publish({ audio: true, video: false });
    await eventually(() => viewer.signaling.all('newConsumer').length === 2, 20_000, 'the second track offered');
    expect(prepared).toEqual([publisher.producerIds.audio]);
  });
});
