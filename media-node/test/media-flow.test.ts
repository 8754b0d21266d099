import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

describe('media flow through one node (real mediasoup worker, werift peers)', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('one participant publishes audio + video; two others receive RTP and the counts keep growing', async () => {
    const meetingId = newMeetingId();
    const publisherId = newParticipantId('pub');
    const early = await node.peer(meetingId); // in the room before the producer appears
    const publisher = await node.peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: true });
    const late = await node.peer(meetingId); // joins after: gets consumers for existing producers

    for (const receiver of [early, late]) {
      await eventually(() => receiver.consumersOf(publisherId).length === 2, 20_000, 'two consumers of the publisher');
      await eventually(
        () => receiver.packetsFrom(publisherId, 'audio') > 10 && receiver.packetsFrom(publisherId, 'video') > 10,
        20_000,
        'audio and video RTP',
      );
    }
    const first = [early.packetsFrom(publisherId, 'audio'), early.packetsFrom(publisherId, 'video'), late.packetsFrom(publisherId, 'audio'), late.packetsFrom(publisherId, 'video')];
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const second = [early.packetsFrom(publisherId, 'audio'), early.packetsFrom(publisherId, 'video'), late.packetsFrom(publisherId, 'audio'), late.packetsFrom(publisherId, 'video')];
    console.log('RTP packets received [early audio, early video, late audio, late video]:', first, '→', second);
    for (const [index, before] of first.entries()) expect(second[index]).toBeGreaterThan(before + 10);

    // The publisher does not receive itself; the receivers' consumers carry the publisher's identity.
    expect(publisher.consumersOf(publisherId)).toHaveLength(0);
    const sources = late.consumersOf(publisherId).map((consumer) => consumer.source).sort();
    expect(sources).toEqual(['camera', 'mic']);

    // mediasoup's bandwidth estimate for each receive transport reaches the client (transport-cc
    // feedback from werift drives it), and transport stats are readable.
    const estimate = await late.signaling.waitForNotification('bandwidthEstimate', undefined, 20_000);
    console.log('bandwidth estimate for the late receiver', estimate);
    expect(estimate.availableBitrate).toBeGreaterThan(0);
    const { stats } = await late.signaling.request('getTransportStats', { transportId: estimate.transportId });
    expect(stats[0]).toMatchObject({ type: 'webrtc-transport', iceState: expect.stringMatching(/connected|completed/) });

    // A receive-bitrate cap (low bandwidth mode) clamps the estimate that picks simulcast layers;
    // out-of-range caps are refused and change nothing; 0 lifts the cap.
    await expect(late.signaling.request('setReceiveBitrate', { maxBitrate: 5_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const uncapped = await late.signaling.request('getTransportStats', { transportId: estimate.transportId });
    expect(uncapped.stats[0]!['maxOutgoingBitrate'] ?? 0).toBe(0);
    const estimatesBefore = late.signaling.all('bandwidthEstimate').length;
    await late.signaling.request('setReceiveBitrate', { maxBitrate: 150_000 });
    const capped = await late.signaling.request('getTransportStats', { transportId: estimate.transportId });
    expect(capped.stats[0]).toMatchObject({ maxOutgoingBitrate: 150_000 });
    const laterEstimates = () => late.signaling.all('bandwidthEstimate').slice(estimatesBefore);
    await eventually(() => laterEstimates().length > 0, 20_000, 'a bandwidth estimate after the cap');
    for (const later of laterEstimates()) expect(later.availableBitrate).toBeLessThanOrEqual(150_000);
    await late.signaling.request('setReceiveBitrate', { maxBitrate: 0 });
    const lifted = await late.signaling.request('getTransportStats', { transportId: estimate.transportId });
    expect(lifted.stats[0]!['maxOutgoingBitrate'] ?? 0).toBe(0);

    // Prometheus metrics count the node's consumers.
    const metrics = await fetch(`http://127.0.0.1:${node.node.port}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/edgemeet_media_consumers\{worker="0"\} [1-9]/);
  });
});
