import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../schema/wire/index.js';
import { SignalingClient, SignalingError } from './peers/signaling-client.js';
import { TestTokenIssuer } from './peers/tokens.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';

const VP8_PARAMETERS = {
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc: 1111 }],
  rtcp: { cname: 'test' },
};

describe('signaling: tokens, bad messages, permissions, replacement', () => {
  let node: TestNode;
  beforeAll(async () => {
    // Short ICE grace so a vanished peer is cleaned up soon after mediasoup sees ICE drop (~30 s).
    node = await startTestNode({ ICE_DISCONNECT_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function refusal(client: SignalingClient) {
    const closed = await client.closed;
    return { closeCode: closed.code, notified: client.all('closed')[0]?.code };
  }

  it('refuses bad, expired, other-node, other-key and other-meeting tokens with stable codes', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId();
    const presenting = (token: string, meeting?: string) => SignalingClient.authenticate(node.url, token, meeting).then(refusal);

    expect(await presenting('not-a-jwt')).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'TOKEN_INVALID' });
    expect(await refusal(await SignalingClient.open(`${node.url}/ws`).then((client) => (client.sendRaw('{}'), client)))).toEqual({
      closeCode: WS_CLOSE.TOKEN_INVALID,
      notified: 'UNAUTHENTICATED',
    });
    expect(await presenting(await node.token(meetingId, participantId, { expiresIn: -30 }))).toEqual({
      closeCode: WS_CLOSE.TOKEN_EXPIRED,
      notified: 'TOKEN_EXPIRED',
    });
    expect(await presenting(await node.token(meetingId, participantId, { nodeId: 'media-other-9' }))).toEqual({
      closeCode: WS_CLOSE.TOKEN_INVALID,
      notified: 'TOKEN_INVALID',
    });
    const stranger = await TestTokenIssuer.create();
    const forged = await stranger.sign({ nodeId: node.node.config.nodeId, meetingId, participantId });
    expect(await presenting(forged)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'TOKEN_INVALID' });
    const valid = await node.token(meetingId, participantId);
    expect(await presenting(valid, newMeetingId())).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'TOKEN_INVALID' });
    // None of the refused connections left a room behind.
    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
  });

  it('refuses a media token in the URL, even a valid one: a secret never travels in a URL (point 16)', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId('url');
    const valid = await node.token(meetingId, participantId);
    // A bare socket, as an old client would open it (the kit's connect() would move the token).
    const inUrl = await SignalingClient.open(`${node.url}/ws?token=${encodeURIComponent(valid)}&meeting=${meetingId}`);
    expect(await refusal(inUrl)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'UNAUTHENTICATED' });
    // Nothing was opened for the token.
    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
    // The same token presented the right way works.
    const client = await SignalingClient.authenticate(node.url, valid, meetingId);
    await client.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    expect(node.node.rooms.rooms.get(meetingId)?.participants.has(participantId)).toBe(true);
    client.close();
  });

  it('answers malformed and unknown messages with error codes; socket and meeting keep working', async () => {
    const meetingId = newMeetingId();
    const publisherId = newParticipantId('pub');
    const publisher = await node.peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: true });
    const receiver = await node.peer(meetingId);
    const client = receiver.signaling;

    client.sendRaw('{not json');
    client.sendRaw(JSON.stringify({ hello: 'world' }));
    await client.waitFor(() => client.rawAnswers.length >= 2, 10_000, 'answers to unreadable messages');
    expect(client.rawAnswers).toEqual([
      { id: null, ok: false, error: { code: 'BAD_REQUEST', message: expect.any(String) } },
      { id: null, ok: false, error: { code: 'BAD_REQUEST', message: expect.any(String) } },
    ]);
    const unknown = await client.requestRaw({ method: 'teleport', data: {} });
    expect(unknown).toMatchObject({ code: 'UNKNOWN_MESSAGE' });
    const invalid = await client.requestRaw({ method: 'connectTransport', data: { transportId: 42 } });
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED' });
    const missing = await client.requestRaw({ method: 'resumeConsumer', data: { consumerId: 'no-such-consumer' } });
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    const badParameters = await client.requestRaw({
      method: 'setConsumerPreferredLayers',
      data: { consumerId: 'x', spatialLayer: 7 },
    });
    expect(badParameters).toMatchObject({ code: 'VALIDATION_FAILED' });

    // Still connected, still answering, still receiving the meeting's media.
    const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
    expect(rtpCapabilities.codecs?.length).toBeGreaterThan(0);
    await eventually(() => receiver.packetsFrom(publisherId, 'video') > 10 && receiver.packetsFrom(publisherId, 'audio') > 10, 20_000, 'media after errors');
  });

  it('enforces publish/subscribe/screen permissions on the node', async () => {
    const meetingId = newMeetingId();
    const viewer = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('view'), { perms: ['subscribe'] }));
    await expect(viewer.request('createTransport', { direction: 'send' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const recv = await viewer.request('createTransport', { direction: 'recv' });
    // ICE restart hands out fresh credentials for the same transport.
    const restarted = await viewer.request('restartIce', { transportId: recv.id });
    expect(restarted.iceParameters.usernameFragment).not.toBe(recv.iceParameters.usernameFragment);
    await expect(viewer.request('createTransport', { direction: 'recv' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(
      viewer.request('produce', { transportId: recv.id, kind: 'video', source: 'camera', rtpParameters: VP8_PARAMETERS }),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });

    const speaker = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('spk'), { perms: ['publish', 'subscribe'] }));
    const send = await speaker.request('createTransport', { direction: 'send' });
    const screen = speaker.request('produce', { transportId: send.id, kind: 'video', source: 'screen', rtpParameters: VP8_PARAMETERS });
    await expect(screen).rejects.toBeInstanceOf(SignalingError);
    await expect(screen).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const mismatched = speaker.request('produce', { transportId: send.id, kind: 'audio', source: 'camera', rtpParameters: VP8_PARAMETERS });
    await expect(mismatched).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const camera = await speaker.request('produce', { transportId: send.id, kind: 'video', source: 'camera', rtpParameters: VP8_PARAMETERS });
    expect(camera.producerId).toMatch(/.+/);

    // 'screen' alone allows a screen share but not a camera.
    const presenter = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('pres'), { perms: ['screen'] }));
    const presenterSend = await presenter.request('createTransport', { direction: 'send' });
    const share = await presenter.request('produce', {
      transportId: presenterSend.id,
      kind: 'video',
      source: 'screen',
      rtpParameters: { ...VP8_PARAMETERS, encodings: [{ ssrc: 2222 }] },
    });
    expect(share.producerId).toMatch(/.+/);
    await expect(
      presenter.request('produce', { transportId: presenterSend.id, kind: 'video', source: 'camera', rtpParameters: { ...VP8_PARAMETERS, encodings: [{ ssrc: 3333 }] } }),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    // The viewer is offered the screen share, labelled as such.
    await viewer.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    const offered = await viewer.waitForNotification('newConsumer', (data) => data.producerId === share.producerId);
    expect(offered.source).toBe('screen');
    presenter.close();

    const watcher = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('w'), { perms: [] }));
    await expect(watcher.request('createTransport', { direction: 'recv' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    for (const client of [viewer, speaker, watcher]) client.close();
  });

  it('a participant whose media vanishes (ICE disconnected past the timeout) is cleaned up and told so', { timeout: 90_000 }, async () => {
    const meetingId = newMeetingId();
    const publisherId = newParticipantId('pub');
    const publisher = await node.peer(meetingId, publisherId);
    await publisher.publish({ audio: true, video: false });
    const other = await node.peer(meetingId);
    await eventually(() => other.packetsFrom(publisherId, 'audio') > 5, 20_000, 'media');
    const room = node.node.rooms.rooms.get(meetingId);
    const transports = [...(room?.participants.get(publisherId)?.transports.values() ?? [])].map((entry) => entry.transport);
    // Close only the WebRTC side; the signaling socket stays open.
    await publisher.closeMedia();
    const closed = await Promise.race([publisher.signaling.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed')), 80_000))]);
    expect(closed.code).toBe(WS_CLOSE.INTERNAL);
    expect(publisher.signaling.all('closed')[0]?.code).toBe('MEDIA_ERROR');
    expect(transports.every((transport) => transport.closed)).toBe(true);
    await other.signaling.waitForNotification('consumerClosed');
    expect(room?.participants.has(publisherId)).toBe(false);
    const metrics = await fetch(`http://127.0.0.1:${node.node.port}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/edgemeet_media_ice_failures_total [1-9]/);
  });

  it('a second connection with the same participant id replaces the first (REPLACED)', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId('dup');
    const first = await SignalingClient.authenticate(node.url, await node.token(meetingId, participantId));
    await first.request('getRouterRtpCapabilities', {});
    const second = await SignalingClient.authenticate(node.url, await node.token(meetingId, participantId));
    await second.request('getRouterRtpCapabilities', {});
    const closed = await first.closed;
    expect(closed.code).toBe(WS_CLOSE.REPLACED);
    expect(first.all('closed')[0]?.code).toBe('CONFLICT');
    const room = node.node.rooms.rooms.get(meetingId);
    expect(room?.participants.size).toBe(1);
    await second.request('createTransport', { direction: 'recv' });
    second.close();
    await eventually(() => !node.node.rooms.rooms.has(meetingId), 10_000, 'room closed after the last leave');
  });
});
