import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

describe('active speaker (mediasoup ActiveSpeakerObserver)', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('tells every participant who is speaking, from the audio levels of the producers', async () => {
    const meetingId = newMeetingId();
    const [loudId, quietId] = [newParticipantId('loud'), newParticipantId('quiet')];
    const listener = await node.peer(meetingId);
    const quiet = await node.peer(meetingId, quietId);
    await quiet.publish({ audio: true, video: false, audioLevel: 127 });
    const loud = await node.peer(meetingId, loudId);
    await loud.publish({ audio: true, video: false, audioLevel: 25 });

    const speaker = await listener.signaling.waitForNotification('activeSpeaker', (data) => data.participantId === loudId, 30_000);
    expect(speaker.participantId).toBe(loudId);
    // The speakers themselves are told too.
    await eventually(() => quiet.signaling.all('activeSpeaker').some((data) => data.participantId === loudId), 10_000, 'quiet peer told');
    // (mediasoup names the only audio producer dominant at first; the loud one must take over and stay.)
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(listener.signaling.all('activeSpeaker').at(-1)?.participantId).toBe(loudId);
  });
});
