import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeEdge } from './fake-edge.js';
import { eventually, newMeetingId, newParticipantId, startNodeBehindEdge, type TestNode } from './harness.js';
import { refusalCode, SignalingClient } from './peers/signaling-client.js';
import { silentRtpParameters } from './peers/signaling-only-publisher.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';

/*
 * A role change reaches the node (setPermissions, issue 14 webinars): a speaker sent back to a
 * webinar's audience stops sending at once, and no session of theirs — the live one, or a new one
 * with the token they were given before — may send again until the room allows it.
 */

const SECRET = 'permissions-credential-secret';

describe('permissions the room sets on the node', () => {
  let edge: FakeEdge;
  let node: TestNode;
  let stop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    ({ edge, node, stop } = await startNodeBehindEdge(SECRET));
  });
  afterAll(() => stop());

  const producersOnNode = (meetingId: string, participantId: string) => node.node.rooms.rooms.get(meetingId)?.participants.get(participantId)?.producers.size ?? 0;

  /** A session over signaling alone, with a token minted now (full publishing rights). */
  async function session(meetingId: string, participantId: string, token: string) {
    const client = await SignalingClient.connect(`${node.url}/ws?token=${encodeURIComponent(token)}`);
    await client.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    return client;
  }

  it('closes what a participant sends when the room takes publishing away, and holds later sessions with older tokens to it', async () => {
    const meetingId = newMeetingId();
    const speakerId = newParticipantId('speaker');
    const tokenBefore = await node.token(meetingId, speakerId);
    const speaker = await session(meetingId, speakerId, tokenBefore);
    const { id: transportId } = await speaker.request('createTransport', { direction: 'send' });
    for (const [kind, ssrc] of [['audio', 1111], ['video', 2222]] as const) {
      await speaker.request('produce', { transportId, kind, source: kind === 'audio' ? 'mic' : 'camera', rtpParameters: silentRtpParameters(kind, ssrc) });
    }
    expect(producersOnNode(meetingId, speakerId)).toBe(2);

    expect(await edge.command({ command: 'setPermissions', meetingId, participantId: speakerId, permissions: ['subscribe'] })).toMatchObject({ ok: true });
    await eventually(() => producersOnNode(meetingId, speakerId) === 0, 5_000, 'the speaker’s producers closed');
    expect(await refusalCode(speaker.request('produce', { transportId, kind: 'audio', source: 'mic', rtpParameters: silentRtpParameters('audio', 3333) }))).toBe('PERMISSION_DENIED');

    // A new session with the token handed out before the change: it may receive, not send.
    speaker.close();
    const again = await session(meetingId, speakerId, tokenBefore);
    expect(await refusalCode(again.request('createTransport', { direction: 'send' }))).toBe('PERMISSION_DENIED');
    expect(await refusalCode(again.request('createTransport', { direction: 'recv' }))).toBe('accepted');
    again.close();

    // Invited to speak again: a session with a publishing token sends.
    expect(await edge.command({ command: 'setPermissions', meetingId, participantId: speakerId, permissions: ['publish', 'subscribe', 'screen'] })).toMatchObject({ ok: true });
    const invited = await session(meetingId, speakerId, await node.token(meetingId, speakerId));
    const { id: sendId } = await invited.request('createTransport', { direction: 'send' });
    await invited.request('produce', { transportId: sendId, kind: 'audio', source: 'mic', rtpParameters: silentRtpParameters('audio', 4444) });
    expect(producersOnNode(meetingId, speakerId)).toBe(1);
    invited.close();
  });

  it('holds to a role change only tokens minted by then: a token minted later carries the newer role, which a node that missed it must not override', async () => {
    const meetingId = newMeetingId();
    const speakerId = newParticipantId('speaker');
    const mintedBefore = await node.token(meetingId, speakerId);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Sent back to the audience (edge clock).
    const changedAt = Date.now();
    expect(await edge.command({ command: 'setPermissions', meetingId, participantId: speakerId, permissions: ['subscribe'], changedAt })).toMatchObject({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Invited to speak again while this node was not among the meeting's nodes, so it never heard;
    // the edge mints a publishing token for this node when the speaker is sent here again.
    const mintedAfter = await node.token(meetingId, speakerId);

    const older = await session(meetingId, speakerId, mintedBefore);
    expect(await refusalCode(older.request('createTransport', { direction: 'send' }))).toBe('PERMISSION_DENIED');
    older.close();
    await eventually(() => !node.node.rooms.rooms.get(meetingId)?.participants.has(speakerId), 5_000, 'the older session gone');
    const newer = await session(meetingId, speakerId, mintedAfter);
    const { id: transportId } = await newer.request('createTransport', { direction: 'send' });
    await newer.request('produce', { transportId, kind: 'audio', source: 'mic', rtpParameters: silentRtpParameters('audio', 5555) });
    expect(producersOnNode(meetingId, speakerId)).toBe(1);
    newer.close();
  });

  it('never widens what a token allows: an attendee token stays receive-only whatever the room permits', async () => {
    const meetingId = newMeetingId();
    const attendeeId = newParticipantId('attendee');
    expect(await edge.command({ command: 'setPermissions', meetingId, participantId: attendeeId, permissions: ['publish', 'subscribe', 'screen'] })).toMatchObject({ ok: true });
    const attendee = await session(meetingId, attendeeId, await node.token(meetingId, attendeeId, { perms: ['subscribe'] }));
    expect(await refusalCode(attendee.request('createTransport', { direction: 'send' }))).toBe('PERMISSION_DENIED');
    attendee.close();
  });
});
