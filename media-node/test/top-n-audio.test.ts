import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { SignalingError } from './peers/signaling-client.js';
import type { WeriftPeer } from './peers/werift-peer.js';

interface Speaker {
  id: string;
  peer: WeriftPeer;
}

describe('top-N audio: each participant receives the 3 loudest speakers plus its pins', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1', TOP_N_AUDIO: '3', TOP_N_AUDIO_HOLD_MS: '500' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('forwards only the loudest, a pinned quiet speaker too, and follows who speaks', async () => {
    const meetingId = newMeetingId();
    const listenerId = newParticipantId('listener');
    const listener = await node.peer(meetingId, listenerId);
    // Quietest first: they take the free places, so the loud ones must win them over.
    const speakers: Speaker[] = [];
    for (const [index, level] of [50, 40, 30, 20, 10].entries()) {
      const id = newParticipantId(`speaker${index}`);
      const peer = await node.peer(meetingId, id, { receive: false });
      await peer.publish({ audio: true, video: false, audioLevel: level, speech: 'steady' });
      speakers.push({ id, peer });
    }
    const [quietest, quiet, loud3, loud2, loudest] = speakers as [Speaker, Speaker, Speaker, Speaker, Speaker];

    /** Whether the node forwards a speaker's audio to the listener (its consumer there is not paused). */
    const forwarded = (speaker: Speaker): boolean | undefined => {
      const participant = node.node.rooms.rooms.get(meetingId)?.participants.get(listenerId);
      const consumer = [...(participant?.consumers.values() ?? [])].find((candidate) => candidate.producerId === speaker.peer.producerIds.audio);
      return consumer === undefined ? undefined : !consumer.paused;
    };
    const packets = (speaker: Speaker) => listener.packetsFrom(speaker.id, 'audio');
    /** Waits until every flowing speaker got 25 more packets, then checks the others got none meanwhile. */
    const expectFlow = async (flowing: Speaker[], silent: Speaker[]) => {
      // Packets already on their way when a consumer paused may still arrive: start counting after a round.
      const warmUp = flowing.map(packets);
      await eventually(() => flowing.every((speaker, index) => packets(speaker) > warmUp[index]! + 25), 20_000, 'a round of audio');
      const before = [...flowing, ...silent].map(packets);
      await eventually(() => flowing.every((speaker, index) => packets(speaker) > before[index]! + 25), 20_000, 'audio of the selected speakers');
      const after = [...flowing, ...silent].map(packets);
      console.log('audio packets received per speaker [flowing…, silent…]:', before, '→', after);
      for (const index of silent.keys()) expect(after[flowing.length + index]).toBe(before[flowing.length + index]);
    };

    await eventually(() => speakers.every((speaker) => listener.consumersOf(speaker.id).length === 1), 20_000, 'a consumer per speaker');
    await eventually(
      () => [loudest, loud2, loud3].every((speaker) => forwarded(speaker) === true) && [quiet, quietest].every((speaker) => forwarded(speaker) === false),
      20_000,
      'the three loudest selected',
    );
    // The listener resumed every consumer it was offered; the node's choice holds the quiet ones anyway.
    await expectFlow([loudest, loud2, loud3], [quiet, quietest]);
    // A node pause is not a producer pause: the client is told nothing that would show a speaker muted.
    expect(listener.signaling.all('consumerPaused')).toEqual([]);
    expect(listener.signaling.all('newConsumer').every((consumer) => !consumer.producerPaused)).toBe(true);

    // Pinning a quiet speaker: heard too, while the other quiet one stays out.
    await listener.signaling.request('setPinned', { participantIds: [quietest.id] });
    await eventually(() => forwarded(quietest) === true, 10_000, 'the pinned speaker forwarded');
    await expectFlow([loudest, loud2, loud3, quietest], [quiet]);

    // The loudest falls silent and the quiet one speaks up: the set follows.
    loudest.peer.setAudioLevel(127);
    quiet.peer.setAudioLevel(5);
    await eventually(() => forwarded(quiet) === true && forwarded(loudest) === false, 20_000, 'the new speaker selected, the silent one left out');
    await expectFlow([quiet, loud2, loud3, quietest], [loudest]);
    expect(listener.signaling.all('consumerPaused')).toEqual([]);

    // Unpinning: the pinned quiet speaker is left out again.
    await listener.signaling.request('setPinned', { participantIds: [] });
    await eventually(() => forwarded(quietest) === false, 10_000, 'the unpinned speaker left out');

    // A speaker pausing its own mic is what `consumerPaused` says; a muted mic holds no place,
    // so the loudest one left out takes it.
    await loud2.peer.signaling.request('pauseProducer', { producerId: loud2.peer.producerIds.audio! });
    const paused = await listener.signaling.waitForNotification('consumerPaused');
    expect(paused.consumerId).toBe(listener.consumersOf(loud2.id)[0]?.consumerId);
    await eventually(() => forwarded(quietest) === true, 10_000, 'a muted speaker\'s place taken by the next loudest');
    await expectFlow([quiet, loud3, quietest], [loudest]);
  });

  it('a meeting of N+1 speakers: each hears the N others, loud or not, whether it is among the loudest or not', async () => {
    const meetingId = newMeetingId();
    const people: Speaker[] = [];
    for (const [index, level] of [40, 30, 20, 10].entries()) {
      const id = newParticipantId(`talker${index}`);
      const peer = await node.peer(meetingId, id);
      await peer.publish({ audio: true, video: false, audioLevel: level, speech: 'steady' });
      people.push({ id, peer });
    }
    for (const listener of people) {
      const others = people.filter((other) => other !== listener);
      await eventually(() => others.every((other) => listener.peer.consumersOf(other.id).length === 1), 20_000, 'a consumer per other speaker');
      const before = others.map((other) => listener.peer.packetsFrom(other.id, 'audio'));
      await eventually(
        () => others.every((other, index) => listener.peer.packetsFrom(other.id, 'audio') > before[index]! + 25),
        20_000,
        'audio of every other speaker',
      );
    }
  });

  it('refuses a malformed pin list with VALIDATION_FAILED', async () => {
    const meetingId = newMeetingId();
    const peer = await node.peer(meetingId);
    await expect(peer.signaling.request('setPinned', { participantIds: ['no spaces allowed!'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const tooMany = Array.from({ length: 26 }, () => newParticipantId('pin'));
    const refused = await peer.signaling.request('setPinned', { participantIds: tooMany }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SignalingError);
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED' });
    // Pinning someone not (yet) in the meeting is fine: it applies when they speak.
    await peer.signaling.request('setPinned', { participantIds: [newParticipantId('later')] });
  });
});
